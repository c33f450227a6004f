"""Our own HDF5 metadata engine: pure Python, sans-IO, batched one round per pointer level.

`io` defines the parser protocol; the format's structures each have a module (superblock,
object headers, datatypes, messages, v1/v2 B-trees, heaps, chunk indexes, filters); `walk`
reads a whole tree and `plan` reads rows and boxes of a dataset. The backend that uses it is
`lazynwb_explorer.backends.hdf5.engine`.
"""
