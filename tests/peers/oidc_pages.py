"""Drives oidc-provider's own device, login and consent pages with plain HTTP (a cookie jar and
the forms' fields), as a person at a browser would: for the device-code login tests.

approve_device(url, user="alice") opens `verification_uri_complete`, confirms the code, logs in
as `user` (the development login takes any name and password) and consents. deny_device(url)
aborts at the confirmation instead. approve_login(url, user) does an authorization-code login's
browser part, up to tok's loopback listener. Loopback only.
"""

import html
import http.cookiejar
import re
import urllib.parse
import urllib.request

FORM = re.compile(r'<form\b[^>]*\baction="([^"]*)"[^>]*>(.*?)</form>', re.S | re.I)
INPUT = re.compile(r'<input\b([^>]*)>', re.S | re.I)
ATTR = re.compile(r'\b(name|value|type)="([^"]*)"', re.I)


def _fields(form_body):
    fields = {}
    for attrs in INPUT.findall(form_body):
        a = {k.lower(): html.unescape(v) for k, v in ATTR.findall(attrs)}
        if "name" in a:
            fields[a["name"]] = a.get("value", "")
    return fields


def _drive(url, user, abort, steps=8):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url, timeout=10) as r:
        page, at = r.read().decode(), r.geturl()
    for _ in range(steps):
        m = FORM.search(page)
        if not m:
            return page
        action = urllib.parse.urljoin(at, html.unescape(m.group(1)))
        fields = _fields(m.group(2))
        if "login" in fields or "password" in fields:
            fields.update(login=user, password="any")
        aborting = abort and "confirm" in fields
        if aborting:
            del fields["confirm"]
            fields["abort"] = "yes"
        data = urllib.parse.urlencode(fields).encode()
        with opener.open(action, data=data, timeout=10) as r:
            page, at = r.read().decode(), r.geturl()
        if aborting:
            return page
    raise AssertionError(f"oidc-provider's pages did not finish in {steps} steps: {page[:300]!r}")


def approve_device(verification_uri_complete, user="alice"):
    page = _drive(verification_uri_complete, user, abort=False)
    if "Sign-in Success" not in page and "success" not in page.lower():
        raise AssertionError(f"device login not confirmed: {page[:300]!r}")
    return page


def approve_login(authorization_url, user="alice"):
    """The browser's part of an authorization-code login: log in, consent, follow the redirect to
    tok's listener; returns the listener's page."""
    page = _drive(authorization_url, user, abort=False)
    if "close this tab" not in page:
        raise AssertionError(f"the login did not reach tok: {page[:300]!r}")
    return page


def deny_device(verification_uri_complete):
    return _drive(verification_uri_complete, "alice", abort=True)

