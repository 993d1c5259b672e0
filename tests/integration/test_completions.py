"""Shell completions (completions/): run for real in bash (the function with COMP_WORDS and
COMPREPLY), zsh (its completion system in a pseudo-terminal: tests/support/zsh_complete.zsh) and
fish (`complete -C`). They complete commands, flags, enumerated values and profile names read from
the config file, stay in step with `tok --help`, and `tok completion SHELL` prints the same files.
The scripts are the ones the build wrote (TOK_BUILD_DIR/completions/) from completions/*.in, the
global flags filled in from tok's table of them."""
import os
import re
import subprocess
import unittest

from harness import ROOT, TOK, TokCase, path_with_tok, readme_block, require_program

BUILD = os.environ.get("TOK_BUILD_DIR") or os.path.dirname(os.path.abspath(TOK or "."))
COMPLETIONS = os.path.join(BUILD, "completions")
FILES = {"bash": "tok.bash", "zsh": "_tok", "fish": "tok.fish"}
ZSH_DRIVER = os.path.join(ROOT, "tests", "support", "zsh_complete.zsh")
BASH_DRIVER = r'''
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
_tok tok "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''
COMMANDS = {"get", "status", "refresh", "clear", "login", "logout", "profiles", "init", "serve", "exec", "write", "setup", "env", "git-credential", "docker-credential",
            "kube-credential", "completion", "version", "help"}


def help_text(*args):
    proc = subprocess.run([TOK, *args, "--help"], capture_output=True, text=True)
    return proc.stdout


def subcommands():
    text = help_text()
    block = text.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def flags_of(*command):
    """Every --long and -s flag `tok [COMMAND] --help` lists, the profile-key flags included."""
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", help_text(*command))) - {"-", "--"}


def global_flags():
    """The global flags as `tok --help` lists them (CLI11, from the table): (short or None, long,
    takes a value, help), without CLI11's own --help and --version."""
    block = help_text().split("Options:\n", 1)[1].split("\n\n", 1)[0]
    flags = []
    for line in block.splitlines():
        m = re.fullmatch(r"\s+(?:(-\w),)?(--[\w-]+)( TEXT)?\s{2,}(.*)", line)
        assert m, f"an option line of tok --help not understood: {line!r}"
        if m.group(2) not in ("--help", "--version"):
            flags.append((m.group(1), m.group(2), bool(m.group(3)), m.group(4)))
    assert len(flags) >= 5, block
    return flags


def written(shell, flag):
    """How a completion file spells a flag: fish declares `-l long` and `-s x`."""
    if shell == "fish":
        return f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
    return flag


class Completions(TokCase):
    def setUp(self):
        super().setUp()
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w") as f:
            f.write("[work]\nprovider = oauth\n\n  [ other-profile ]  ; a comment\nprovider = oauth\n")
        self.alt = os.path.join(self.home, "alt-config")
        with open(self.alt, "w") as f:
            f.write("[alt]\nprovider = oauth\n")
        self.env.update({"TOK_CONFIG": self.config})

    # -- the same everywhere --------------------------------------------------------------------

    def test_tok_completion_prints_the_installed_files(self):
        for shell, name in FILES.items():
            with open(os.path.join(COMPLETIONS, name), "rb") as f:
                expected = f.read()
            proc = subprocess.run([TOK, "completion", shell], capture_output=True)
            self.assertEqual((proc.returncode, proc.stdout), (0, expected), shell)
        self.assertEqual(subprocess.run([TOK, "completion", "tcsh"], capture_output=True).returncode, 2)

    def test_every_command_and_flag_of_the_help_is_in_every_file(self):
        self.assertEqual(set(subcommands()), COMMANDS, "a new command needs its completions (and this list)")
        for shell, name in FILES.items():
            with open(os.path.join(COMPLETIONS, name)) as f:
                text = f.read()
            for command in subcommands():
                self.assertTrue(re.search(rf"(?<![\w-]){re.escape(command)}(?![\w-])", text),
                                f"{name} lacks the command {command}")
                for flag in flags_of(command):
                    self.assertTrue(re.search(rf"(?<![\w-]){re.escape(written(shell, flag))}(?![\w-])", text),
                                    f"{name} lacks {flag} of {command}")

    def test_every_global_flag_is_offered_in_every_shell_as_the_table_says(self):
        flags = global_flags()
        shells = {"bash": lambda line: self.bash(*line.split(" ")), "zsh": self.zsh, "fish": self.fish}
        for shell, complete in shells.items():
            for line, wanted in (("tok --", {f[1] for f in flags}),
                                 ("tok get -", {n for f in flags for n in f[:2] if n}),
                                 ("tok --config x status --", {f[1] for f in flags})):
                with self.subTest(shell=shell, line=line):
                    got = {c.rstrip("=") for c in complete(line) if c}
                    self.assertEqual(wanted - got, set(), "global flags not offered")
            # After a switch comes the command; after a flag that takes a value, its value.
            for short, long, takes_value, _ in flags:
                for name in filter(None, (short, long)):
                    with self.subTest(shell=shell, flag=name):
                        got = {c for c in complete(f"tok {name} ") if c}
                        if takes_value:
                            self.assertEqual(got & COMMANDS, set(), f"{name} takes a value, not a command")
                        else:
                            self.assertEqual(got, COMMANDS)
        # fish shows each flag's help: the table's.
        described = dict(c.split("\t", 1) for c in self.fish("tok --", describe=True) if "\t" in c)
        for short, long, _, help in flags:
            self.assertEqual(described.get(long), help, long)

    def test_provider_values_are_the_providers_of_this_build(self):
        proc = subprocess.run([TOK, "get", "--provider", "none-such"], capture_output=True, text=True)
        known = re.search(r"this build knows: ([^)]*)\)", proc.stderr).group(1).split(", ")
        self.assertEqual(set(self.bash("tok", "--provider", "")), set(known))
        self.assertEqual(set(self.fish("tok --provider ")), set(known))
        self.assertEqual(set(self.zsh("tok --provider ")), set(known))

    # -- the cases, in each shell ---------------------------------------------------------------

    CASES = [
        ("tok ", COMMANDS, True),
        ("tok g", {"get", "git-credential"}, True),
        ("tok get --format ", {"token", "json", "header", "credential-process"}, True),
        ("tok status --format ", {"text", "json"}, True),
        ("tok env --shell ", {"sh", "fish", "github", "gitlab"}, True),
        ("tok -p ", {"work", "other-profile"}, True),
        ("tok get --profile ", {"work", "other-profile"}, True),
        ("tok --config {alt} -p ", {"alt"}, True),
        ("tok git-credential ", {"get", "store", "erase"}, True),
        ("tok docker-credential ", {"get", "store", "erase", "list", "version"}, True),
        ("tok completion ", {"bash", "zsh", "fish"}, True),
        ("tok setup ", {"git", "docker", "kube", "aws"}, True),
        ("tok setup --d", {"--dry-run"}, False),
        ("tok get --f", {"--format", "--force-refresh"}, False),
        ("tok clear --a", {"--all", "--async-refresh", "--audience", "--auth-method"}, False),
        ("tok exec -- tr", {"true"}, False),
    ]

    def check_cases(self, complete):
        for line, expected, exact in self.CASES:
            line = line.replace("{alt}", self.alt)
            got = {c.rstrip("=") for c in complete(line) if c}
            if exact:
                self.assertEqual(got, expected, line)
            else:
                self.assertLessEqual(expected, got, line)

    def bash(self, *words):
        bash = require_program("bash")
        proc = subprocess.run([bash, "--norc", "-c", BASH_DRIVER, "bash", os.path.join(COMPLETIONS, "tok.bash"),
                               *words], env=self.env, capture_output=True, text=True, timeout=60, cwd=self.home)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [line for line in proc.stdout.split("\n") if line]

    def test_bash(self):
        self.check_cases(lambda line: self.bash(*line.split(" ")))
        # Without $TOK_CONFIG: $XDG_CONFIG_HOME/tok/config, else ~/.config/tok/config.
        env = {k: v for k, v in self.env.items() if k != "TOK_CONFIG"}
        os.makedirs(os.path.join(self.home, ".config", "tok"))
        os.rename(self.alt, os.path.join(self.home, ".config", "tok", "config"))
        self.env = env
        self.assertEqual(self.bash("tok", "-p", ""), ["alt"])
        self.env = {**env, "XDG_CONFIG_HOME": os.path.join(self.home, "nowhere")}
        self.assertEqual(self.bash("tok", "-p", ""), [], "a missing config file: no names, no error")
        # bash splits --format=json at '=': COMP_WORDS holds "--format" "=" "".
        self.env = env
        self.assertEqual(set(self.bash("tok", "get", "--format", "=", "")), {"token", "json", "header", "credential-process"})

    def test_bash_registers_the_function_and_the_readme_line_loads_it(self):
        line = [l for l in readme_block("completions without installing").splitlines() if "bash" in l][0]
        proc = subprocess.run([require_program("bash"), "--norc", "-c", f"{line}\ncomplete -p tok"],
                              env=path_with_tok(self.env), capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.stdout.strip(), "complete -F _tok tok", proc.stderr)

    def zsh(self, line):
        zsh = require_program("zsh")
        proc = subprocess.run([zsh, "-f", ZSH_DRIVER, COMPLETIONS, line], env=self.env, capture_output=True,
                              text=True, timeout=60, cwd=self.home)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [c for c in proc.stdout.split("\n") if c]

    def test_zsh(self):
        zsh = require_program("zsh")
        proc = subprocess.run([zsh, "-n", os.path.join(COMPLETIONS, "_tok")], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.check_cases(self.zsh)

    def fish(self, line, source=None, describe=False):
        fish = require_program("fish")
        source = source or f"source {os.path.join(COMPLETIONS, 'tok.fish')}"
        proc = subprocess.run([fish, "--no-config", "-c", f"{source}; complete -C '{line}'"],
                              env=path_with_tok(self.env), capture_output=True, text=True, timeout=60, cwd=self.home)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [c if describe else c.split("\t")[0] for c in proc.stdout.split("\n") if c]

    def test_fish(self):
        fish = require_program("fish")
        proc = subprocess.run([fish, "--no-config", "-n", os.path.join(COMPLETIONS, "tok.fish")], capture_output=True,
                              text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.check_cases(self.fish)
        line = [l for l in readme_block("completions without installing").splitlines() if "fish" in l][0]
        self.assertEqual(set(self.fish("tok completion ", source=line)), {"bash", "zsh", "fish"})

    # -- tok login takes a login profile ---------------------------------------------------------

    LOGINS = ("[svc]\nprovider = oauth\ntoken_url = https://x/token\n"
              "[me]\nprovider = oauth\nissuer = https://x\ngrant = device_code   ; a comment\n"
              "[browser] ; a comment\n  grant=\"authorization_code\"\n\tprovider =oauth\n"
              "[cc]\nprovider = oauth\ngrant = client_credentials\n"
              "[cmd]\nprovider = command\ngrant = device_code\n"
              "[$(touch pwned-login)]\nprovider = oauth\ngrant = device_code\n"
              "[last-one]\ngrant = authorization_code\nprovider = oauth")

    def test_login_and_logout_offer_login_profiles_only(self):
        with open(self.config, "w") as f:
            f.write(self.LOGINS)
        every = {"svc", "me", "browser", "cc", "cmd", "last-one"}
        logins = {"me", "browser", "last-one"}
        shells = {"bash": lambda line: self.bash(*line.split(" ")), "zsh": self.zsh, "fish": self.fish}
        for shell, complete in shells.items():
            for line, expected in (("tok login -p ", logins), ("tok logout --profile ", logins),
                                   ("tok login -p b", {"browser"}), ("tok get -p ", every), ("tok -p ", every),
                                   ("tok serve --gcp ", every)):
                with self.subTest(shell=shell, line=line):
                    self.assertEqual({c for c in complete(line) if c}, expected)
        self.assertEqual([n for n in os.listdir(self.home) if n.startswith("pwned")], [])

    # -- a config file is data, never code -------------------------------------------------------

    HOSTILE = ("[work]\nprovider = oauth\n"
               "[$(touch${IFS}pwned-bash)]\n[`touch pwned-backtick`]\n[$(touch pwned-zsh)]\n"
               "[(touch pwned-fish)]\n[;touch pwned-semicolon]\n[\"$(touch pwned-quoted)\"]\n"
               "[${(e):-$(touch pwned-zsh-flag)}]\n[{touch,pwned-brace}]\n[*]\n[-rf]\n[ok.name@x-1]\n")

    def test_a_hostile_config_is_never_evaluated_by_any_shell(self):
        # The completion reads --config from the line: a repository's file is one TAB away.
        hostile = os.path.join(self.home, "repo-tok.ini")
        with open(hostile, "w") as f:
            f.write(self.HOSTILE)
        shells = {"bash": lambda line: self.bash(*line.split(" ")), "zsh": self.zsh, "fish": self.fish}
        for shell, complete in shells.items():
            for line in (f"tok --config {hostile} -p ", f"tok --config {hostile} get -p ",
                         f"tok --config {hostile} serve --gcp "):
                with self.subTest(shell=shell, line=line):
                    got = {c for c in complete(line) if c}
                    # "-rf" is a name tok accepts: offered as the word it is, never run.
                    self.assertEqual(got, {"work", "ok.name@x-1", "-rf"})
                    self.assertEqual([n for n in os.listdir(self.home) if n.startswith("pwned")], [])
            # From $TOK_CONFIG too, with the prefix typed.
            with self.subTest(shell=shell, source="TOK_CONFIG"):
                self.env["TOK_CONFIG"] = hostile
                self.assertEqual({c for c in complete("tok -p w") if c}, {"work"})
                self.env["TOK_CONFIG"] = self.config
                self.assertEqual([n for n in os.listdir(self.home) if n.startswith("pwned")], [])
        # tok itself refuses the names, saying which line.
        proc = self.run_tok("--config", hostile, "profiles")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("line 3: profile name", proc.stderr)
        self.assertEqual([n for n in os.listdir(self.home) if n.startswith("pwned")], [])

    # -- a config file of any size ---------------------------------------------------------------

    def test_a_config_over_1_mib_is_not_read(self):
        # tok refuses a config file over 1 MiB; zsh took 3.6 GB reading a 16 MB one, bash minutes.
        # Each shell runs with 512 MiB of address space and 30 s: it offers no names, at once.
        import resource
        import time
        big = os.path.join(self.home, "big-config")
        with open(big, "w") as f:
            f.write("[work]\nprovider = oauth\n")
            line = "[p%07d]\nprovider = oauth\n"
            f.write("".join(line % i for i in range(16 * 1024 * 1024 // len(line % 0))))
        self.assertGreater(os.path.getsize(big), 16_000_000)
        # Just under the cap: still read (long comment lines, so that bash reads it quickly).
        near = os.path.join(self.home, "near-config")
        with open(near, "w") as f:
            f.write("[work]\nprovider = oauth\n" + ("; " + "x" * 1000 + "\n") * 1000)
        self.assertLess(os.path.getsize(near), 1 << 20)

        def limited():
            resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))

        def complete(shell, config):
            self.env["TOK_CONFIG"] = config
            if shell == "bash":
                argv = [require_program("bash"), "--norc", "-c", BASH_DRIVER, "bash",
                        os.path.join(COMPLETIONS, "tok.bash"), "tok", "-p", "w"]
            elif shell == "zsh":
                argv = [require_program("zsh"), "-f", ZSH_DRIVER, COMPLETIONS, "tok -p w"]
            else:
                argv = [require_program("fish"), "--no-config", "-c",
                        f"source {os.path.join(COMPLETIONS, 'tok.fish')}; complete -C 'tok -p w'"]
            started = time.monotonic()
            try:
                proc = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30,
                                      cwd=self.home, preexec_fn=limited)
            except subprocess.TimeoutExpired:
                self.fail(f"{shell} completion still reading the {os.path.getsize(config)}-byte config after 30 s")
            took = time.monotonic() - started
            self.assertEqual(proc.returncode, 0, f"{shell}: {proc.stderr[-2000:]}")
            return {c.split("\t")[0] for c in proc.stdout.split("\n") if c}, took

        for shell in ("bash", "zsh", "fish"):
            with self.subTest(shell=shell):
                got, took = complete(shell, big)
                self.assertEqual(got, set(), f"{shell} offered names of a config tok refuses")
                self.assertLess(took, 10, f"{shell} took {took:.1f} s")
                got, _ = complete(shell, near)
                self.assertEqual(got, {"work"}, f"{shell}: a config under 1 MiB is still read")
        proc = self.run_tok("--config", big, "profiles")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("larger than 1024 KiB", proc.stderr)


if __name__ == "__main__":
    unittest.main()
