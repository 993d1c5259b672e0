"""Pieces the AWS tests share: a stand-in credential helper (what aws-vault, granted, saml2aws or
`aws configure export-credentials` print: credential_process JSON) that counts its runs, a tok
config with an AWS profile, and a loopback STS stand-in that checks SigV4's access key id and the
session token before answering GetCallerIdentity."""
import http.server
import os
import re

from harness import write_program
from threaded_server import ServedInThread

# Recognisable, so a test can assert they appear in no output of tok's.
SECRET_ACCESS_KEY = "tokTestSecretAccessKey/0123456789+abcdefX"
SESSION_TOKEN = "tokTestSessionToken/FwoGZXIvYXdzEXAMPLE+0123456789abcdefghijklmnop="
ACCOUNT = "123456789012"

# Prints credential_process JSON; each run a new access key id (ASIATOKTEST00000N), valid for
# LIFETIME seconds (none: long-term keys without Expiration). Counts its runs in DIR/runs.
HELPER = """# stand-in AWS credential helper
echo run >> "DIR/runs"
n=$(wc -l < "DIR/runs" | tr -d ' ')
EXPIRATION
printf '{"Version": 1, "AccessKeyId": "ASIATOKTEST%06d", "SecretAccessKey": "SECRET", "SessionToken": "SESSION"%s}\\n' "$n" "$exp"
"""


def write_helper(directory, lifetime=3600):
    if lifetime is None:
        expiration = "exp=''"
    else:
        expiration = (f"exp=$(date -u -d @$(( $(date +%s) + {int(lifetime)} )) +%Y-%m-%dT%H:%M:%SZ)\n"
                      "exp=\", \\\"Expiration\\\": \\\"$exp\\\"\"")
    body = (HELPER.replace("DIR", directory).replace("EXPIRATION", expiration)
            .replace("SECRET", SECRET_ACCESS_KEY).replace("SESSION", SESSION_TOKEN))
    return write_program(directory, "aws-helper", body)


def helper_runs(directory):
    try:
        with open(os.path.join(directory, "runs")) as f:
            return len(f.readlines())
    except FileNotFoundError:
        return 0


def access_key_id(n):
    return f"ASIATOKTEST{n:06d}"


class StsStandIn(ServedInThread):
    """GetCallerIdentity on 127.0.0.1: 200 only for a SigV4 request whose Credential names
    `want_key_id()` and whose X-Amz-Security-Token is the session token; 403 otherwise."""

    def __init__(self, want_key_id):
        stand_in = self
        self.seen = []  # (access key id, session token) of each request

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                auth = self.headers.get("Authorization") or ""
                match = re.match(r"AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/\d{8}/[a-z0-9-]+/sts/aws4_request,", auth)
                key_id = match.group(1) if match else None
                token = self.headers.get("X-Amz-Security-Token")
                stand_in.seen.append((key_id, token))
                ok = (key_id == want_key_id() and token == SESSION_TOKEN and "Action=GetCallerIdentity" in body)
                if ok:
                    status, answer = 200, (
                        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                        "<GetCallerIdentityResult>"
                        f"<Arn>arn:aws:sts::{ACCOUNT}:assumed-role/tok-test/{key_id}</Arn>"
                        f"<UserId>AROATOKTEST:{key_id}</UserId><Account>{ACCOUNT}</Account>"
                        "</GetCallerIdentityResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata>"
                        "</GetCallerIdentityResponse>")
                else:
                    status, answer = 403, (
                        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                        "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is "
                        "invalid.</Message></Error><RequestId>0</RequestId></ErrorResponse>")
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
