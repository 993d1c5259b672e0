// cli/setup_edits: what `tok setup docker` and `tok setup aws` write into other programs' files.
// Every byte tok did not write stays; setting up twice changes nothing the second time; removing
// gives back the file as it was. (The real Docker CLI and AWS CLI read the results in
// tests/peers/test_setup.py.)
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cli/commands/setup_edits.hpp"
#include "core/error.hpp"

namespace {

using tok::edit_aws_config;
using tok::edit_docker_config;

const std::string kProcess = "/opt/tok/bin/tok get -p work --format credential-process";

tok::FileEdit aws(const std::string& text, bool remove = false, const std::string& name = "dev",
                  const std::string& value = kProcess) {
  return edit_aws_config(text, name, value, tok::is_tok_credential_process, "work", remove);
}

}  // namespace

TEST_CASE("shell_quote leaves plain words and single-quotes the rest") {
  CHECK(tok::shell_quote("/usr/bin/tok") == "/usr/bin/tok");
  CHECK(tok::shell_quote("/home/a b/tok") == "'/home/a b/tok'");
  CHECK(tok::shell_quote("it's") == "'it'\\''s'");
  CHECK(tok::shell_quote("") == "''");
  CHECK_THROWS_AS(tok::shell_quote("a\nb"), tok::Error);
}

TEST_CASE("docker: credHelpers merged, every other key in its place, layout and final newline kept") {
  const std::string before =
      "{\n\t\"auths\": {\n\t\t\"other.example\": {\n\t\t\t\"auth\": \"dXNlcjpwYXNz\"\n\t\t}\n\t},\n"
      "\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\"\n\t},\n\t\"zzUnknown\": [\n\t\t1,\n\t\ttrue\n\t]\n}\n";
  const auto added = edit_docker_config(before, {"registry.example.com", "127.0.0.1:5000"}, "tok", false);
  REQUIRE(added.text);
  CHECK(*added.text ==
        "{\n\t\"auths\": {\n\t\t\"other.example\": {\n\t\t\t\"auth\": \"dXNlcjpwYXNz\"\n\t\t}\n\t},\n"
        "\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\",\n\t\t\"registry.example.com\": \"tok\",\n"
        "\t\t\"127.0.0.1:5000\": \"tok\"\n\t},\n\t\"zzUnknown\": [\n\t\t1,\n\t\ttrue\n\t]\n}\n");
  CHECK(added.changes.size() == 2);
  const auto again = edit_docker_config(*added.text, {"registry.example.com", "127.0.0.1:5000"}, "tok", false);
  CHECK_FALSE(again.text);
  const auto removed = edit_docker_config(*added.text, {"registry.example.com", "127.0.0.1:5000"}, "tok", true);
  REQUIRE(removed.text);
  CHECK(*removed.text == before);
  CHECK_FALSE(edit_docker_config(before, {"registry.example.com"}, "tok", true).text);
}

TEST_CASE("docker: a credHelpers tok added is taken out whole, in a two-space file without a final newline") {
  const std::string before = "{\n  \"credsStore\": \"pass\"\n}";
  const auto added = edit_docker_config(before, {"r.example"}, "tok", false);
  REQUIRE(added.text);
  CHECK(*added.text == "{\n  \"credsStore\": \"pass\",\n  \"credHelpers\": {\n    \"r.example\": \"tok\"\n  }\n}");
  CHECK(*edit_docker_config(*added.text, {"r.example"}, "tok", true).text == before);
  // A new file, or an empty one.
  CHECK(*edit_docker_config("", {"r.example"}, "tok", false).text ==
        "{\n\t\"credHelpers\": {\n\t\t\"r.example\": \"tok\"\n\t}\n}\n");
}

TEST_CASE("docker: a file Docker cannot read, or another helper for the registry, is refused") {
  for (const std::string bad : {"{\"auths\": ", "[1, 2]", "{\"credHelpers\": {\"r.example\": 1}}",
                                "{\"credHelpers\": []}", "not json"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(edit_docker_config(bad, {"r.example"}, "tok", false), tok::Error);
  }
  CHECK_THROWS_AS(edit_docker_config("{\"credHelpers\": {\"r.example\": \"gcloud\"}}", {"r.example"}, "tok", false),
                  tok::Error);
  // --remove leaves another helper's entry alone.
  CHECK_FALSE(edit_docker_config("{\"credHelpers\": {\"r.example\": \"gcloud\"}}", {"r.example"}, "tok", true).text);
}

TEST_CASE("aws: the section is appended after a blank line, kept on a second run, and removed to the byte") {
  const std::string before = "# my AWS settings\n[default]\nregion = eu-west-1 ; inline\n\n[profile prod]\n"
                             "role_arn = arn:aws:iam::1:role/x\nsource_profile = default\n";
  const auto added = aws(before);
  REQUIRE(added.text);
  CHECK(*added.text == before + "\n[profile dev]\ncredential_process = " + kProcess + "\n");
  CHECK_FALSE(aws(*added.text).text);
  const auto removed = aws(*added.text, true);
  REQUIRE(removed.text);
  CHECK(*removed.text == before);
  CHECK_FALSE(aws(before, true).text);
  // An empty or missing file.
  CHECK(*aws("").text == "[profile dev]\ncredential_process = " + kProcess + "\n");
  CHECK(*aws(*aws("").text, true).text == "");
}

TEST_CASE("aws: a section in the middle, with other keys, or written by hand keeps everything but tok's line") {
  const std::string before = "[profile dev]\nregion = us-east-1\n# keep me\n\n[profile other]\nregion = x\n";
  const auto added = aws(before);
  REQUIRE(added.text);
  CHECK(*added.text == "[profile dev]\ncredential_process = " + kProcess +
                           "\nregion = us-east-1\n# keep me\n\n[profile other]\nregion = x\n");
  CHECK(*aws(*added.text, true).text == before);
  // An older tok path is replaced; the section alone in the middle goes whole on --remove.
  const std::string old = "[profile dev]\ncredential_process = /old/tok get -p work --format credential-process\n\n"
                          "[profile other]\nregion = x\n";
  const auto moved = aws(old);
  REQUIRE(moved.text);
  CHECK(*moved.text == "[profile dev]\ncredential_process = " + kProcess + "\n\n[profile other]\nregion = x\n");
  CHECK(*aws(old, true).text == "[profile other]\nregion = x\n");
  // The quoted header botocore reads for a name with a blank, found again on the second run.
  const auto spaced = aws("", false, "my dev");
  REQUIRE(spaced.text);
  CHECK(*spaced.text == "[profile \"my dev\"]\ncredential_process = " + kProcess + "\n");
  CHECK_FALSE(aws(*spaced.text, false, "my dev").text);
  CHECK_FALSE(aws("[profile   dev ]\ncredential_process = " + kProcess + "\n").text);
}

TEST_CASE("aws: another credential source, a foreign credential_process or a bad name is refused") {
  CHECK_THROWS_AS(aws("[profile dev]\naws_access_key_id = AKIA\n"), tok::Error);
  CHECK_THROWS_AS(aws("[profile dev]\nsso_session = corp\n"), tok::Error);
  CHECK_THROWS_AS(aws("[profile dev]\ncredential_process = aws-vault export dev\n"), tok::Error);
  CHECK_THROWS_AS(aws("[profile dev]\ncredential_process = aws-vault export dev\n", true), tok::Error);
  CHECK_THROWS_AS(aws("[profile dev]\ncredential_process = /x/tok get -p other --format credential-process\n"),
                  tok::Error);
  for (const std::string name : {"", "a\nb", "a\"b", "a]b", " dev"}) {
    CAPTURE(name);
    CHECK_THROWS_AS(aws("", false, name), tok::Error);
  }
  CHECK(tok::is_tok_credential_process("'/a b/tok' get -p work --format credential-process", "work"));
  CHECK_FALSE(tok::is_tok_credential_process("get -p work --format credential-process", "work"));
}
