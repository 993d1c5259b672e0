"""Test certificates made with the openssl command at test time, in a temporary directory: a CA,
a server certificate it signs for 127.0.0.1 and localhost, one that expired in 2020, one for
another host name, and a second CA with a server certificate of its own (unknown to the first).

    pki = Pki(directory)          # runs openssl; fails the test run if openssl is missing
    pki.context("good")           # an ssl.SSLContext serving that certificate
    pki.ca                        # the CA file to give tok as ca_bundle
"""
import os
import shutil
import ssl
import subprocess

CA_CONFIG = """
[ ca ]
default_ca = tok
[ tok ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no
[ anything ]
commonName = supplied
[ loopback ]
subjectAltName = IP:127.0.0.1,DNS:localhost
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
[ elsewhere ]
subjectAltName = DNS:wrong.example
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
"""


class Pki:
    def __init__(self, directory):
        openssl = shutil.which("openssl")
        if not openssl:
            raise AssertionError("the openssl program is needed to make test certificates: "
                                 "run scripts/install-deps.sh")
        self.dir = directory
        self.openssl = openssl
        self.ca = self._ca("ca", "tok test CA")
        self.other_ca = self._ca("other-ca", "some other CA")
        self.key = self._key_and_request("server", "127.0.0.1")
        self.certs = {
            "good": self._sign("ca", "good", "loopback", ["-days", "2"]),
            "expired": self._sign("ca", "expired", "loopback",
                                  ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"]),
            "wrong-host": self._sign("ca", "wrong-host", "elsewhere", ["-days", "2"]),
            "unknown-ca": self._sign("other-ca", "unknown-ca", "loopback", ["-days", "2"]),
        }

    def context(self, name):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.certs[name], self.key)
        return ctx

    def _run(self, *args, cwd=None):
        subprocess.run([self.openssl, *args], cwd=cwd or self.dir, check=True, capture_output=True)

    def _ca(self, name, subject):
        ca_dir = os.path.join(self.dir, name)
        os.makedirs(ca_dir)
        with open(os.path.join(ca_dir, "ca.cnf"), "w") as f:
            f.write(CA_CONFIG)
        open(os.path.join(ca_dir, "index.txt"), "w").close()
        with open(os.path.join(ca_dir, "serial"), "w") as f:
            f.write("01\n")
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", f"/CN={subject}",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=ca_dir)
        return os.path.join(ca_dir, "ca.pem")

    def _key_and_request(self, name, common_name):
        self._run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={common_name}")
        return os.path.join(self.dir, f"{name}.key")

    def _sign(self, ca, name, extensions, validity):
        ca_dir = os.path.join(self.dir, ca)
        out = os.path.join(self.dir, f"{name}.pem")
        self._run("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
                  "-extensions", extensions, *validity, "-in", os.path.join(self.dir, "server.csr"),
                  "-out", out, "-notext", cwd=ca_dir)
        return out
