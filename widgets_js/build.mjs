// Bundle each view's ES module (every file in src/views/, with its dependencies: apache-arrow,
// plotly.js) into ../lazynwb_explorer/static/<view>.js, where the Python package loads them:
// users need no node. A new view is a new file in src/views/; nothing here changes.
import { build, context } from "esbuild";
import { copyFileSync, existsSync, readdirSync, readFileSync } from "node:fs";

const outdir = "../lazynwb_explorer/static";
const views = readdirSync("src/views").filter((f) => f.endsWith(".js")).sort();
const options = {
  entryPoints: views.map((f) => `src/views/${f}`),
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  outdir,
  legalComments: "none",
  logLevel: "info",
};

if (process.argv.includes("--check")) {
  // The committed bundles must be what the sources build to: build in memory and compare.
  const result = await build({ ...options, write: false, logLevel: "silent" });
  const stale = result.outputFiles.filter((f) => {
    const committed = existsSync(f.path) ? readFileSync(f.path) : null;
    return !committed || !Buffer.from(f.contents).equals(committed);
  });
  if (readFileSync("src/widgets.css", "utf8") !== readFileSync(`${outdir}/widgets.css`, "utf8")) {
    stale.push({ path: `${outdir}/widgets.css` });
  }
  for (const f of stale) console.error(`out of date: ${f.path} (run npm run build)`);
  process.exit(stale.length ? 1 : 0);
}
copyFileSync("src/widgets.css", `${outdir}/widgets.css`);
if (process.argv.includes("--watch")) {
  await (await context(options)).watch();
} else {
  await build(options);
}
