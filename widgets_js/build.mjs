// Bundle each widget's ES module (with its dependencies: apache-arrow, plotly.js) into
// ../lazynwb_explorer/static/, where the Python package loads them: users need no node.
import { build, context } from "esbuild";
import { copyFileSync } from "node:fs";

const outdir = "../lazynwb_explorer/static";
const options = {
  entryPoints: ["src/tree.js", "src/schema.js", "src/grid.js", "src/plot.js"],
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  outdir,
  legalComments: "none",
  logLevel: "info",
};

copyFileSync("src/widgets.css", `${outdir}/widgets.css`);
if (process.argv.includes("--watch")) {
  await (await context(options)).watch();
} else {
  await build(options);
}
