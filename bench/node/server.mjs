// The tus reference server (@tus/server + @tus/file-store) over TLS on loopback, for the
// upload benchmark. Usage: node server.mjs CERT KEY DIRECTORY; prints {"port": N} when ready.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const [cert, key, directory] = process.argv.slice(2);
const tus = new Server({ path: "/files", datastore: new FileStore({ directory }) });
const https = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) =>
  tus.handle(req, res),
);
https.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: https.address().port }));
});
process.on("SIGTERM", () => https.close(() => process.exit(0)));
