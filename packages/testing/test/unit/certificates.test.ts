import { once } from "node:events";
import https from "node:https";
import { createCertificateAuthority, createClientCertificate } from "../../src/certificates";

test("a server certificate from the generated CA is trusted over TLS for 127.0.0.1", async () => {
  const authority = await createCertificateAuthority();
  const server = https.createServer(await authority.issueServerCertificate(), (_req, res) =>
    res.end("ok"),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port, ca: authority.ca, path: "/" }, (res) => {
        let text = "";
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => resolve(text));
      })
      .on("error", reject);
  });
  server.close();
  expect(body).toBe("ok");
});

test("a client certificate PEM holds the private key and the certificate", async () => {
  const client = await createClientCertificate();
  expect(client.pem).toContain("PRIVATE KEY");
  expect(client.pem).toContain("BEGIN CERTIFICATE");
});
