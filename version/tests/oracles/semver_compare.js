// Oracle for feeds/tests/versions_semver.rs: node-semver (npm's `semver`).
// argv[2]: the directory holding node_modules/semver. Reads a JSON list of
// [a, b] pairs on stdin; writes per pair [order, validA, validB], order being
// "<", "=", ">" or null when either version is invalid (strict mode).
const path = require("path");
const semver = require(path.join(process.argv[2], "node_modules", "semver"));

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const valid = (v) => semver.valid(v) !== null;
  const results = JSON.parse(input).map(([a, b]) => {
    const va = valid(a);
    const vb = valid(b);
    let order = null;
    if (va && vb) {
      order = ["<", "=", ">"][semver.compare(a, b) + 1];
    }
    return [order, va, vb];
  });
  const version = require(path.join(process.argv[2], "node_modules", "semver", "package.json")).version;
  process.stdout.write(JSON.stringify({ semver: version, results }));
});
