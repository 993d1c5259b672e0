# fish completion for tok. Installed as share/fish/vendor_completions.d/tok.fish;
# `tok completion fish` prints this file.

# The config file tok would read: --config on the line, else $TOK_CONFIG,
# $XDG_CONFIG_HOME/tok/config, ~/.config/tok/config.
function __tok_config
    set -l tokens (commandline -opc)
    set -l config
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --config
                if test $i -lt (count $tokens)
                    set config $tokens[(math $i + 1)]
                end
            case '--config=*'
                set config (string replace -- --config= '' $tokens[$i])
        end
    end
    if test -n "$config"
        string replace -r '^~/' "$HOME/" -- $config
    else if set -q TOK_CONFIG[1]; and test -n "$TOK_CONFIG"
        echo $TOK_CONFIG
    else if set -q XDG_CONFIG_HOME[1]; and test -n "$XDG_CONFIG_HOME"
        echo $XDG_CONFIG_HOME/tok/config
    else
        echo $HOME/.config/tok/config
    end
end

# Profile names: the config file's [sections], read here rather than asked of tok, so a broken
# config only means no names. The file may be a repository's: only names tok accepts
# ([A-Za-z0-9._@-]) are offered. For tok login and logout, only login profiles (provider = oauth,
# grant = authorization_code or device_code).
function __tok_profiles
    set -l config (__tok_config)
    test -f "$config"; and test -r "$config"; or return 0
    # tok refuses a config file over 1 MiB; so does this (wc -c asks the file system).
    set -l size (wc -c <$config 2>/dev/null | string trim)
    test -n "$size"; and test "$size" -le 1048576; or return 0
    if not __fish_seen_subcommand_from login logout
        string match -rg '^\s*\[\s*(.*?)\s*\]' <$config | string match -r '^[A-Za-z0-9._@-]+$'
        return 0
    end
    set -l section
    set -l provider
    set -l grant
    for line in (string match -r '^\s*(?:\[.*|(?:provider|grant)\s*=.*)' <$config) '[]'
        set -l header (string match -rg -- '^\s*\[\s*(.*?)\s*\]' $line)
        if test (count $header) -gt 0; or test "$line" = '[]'
            if test -n "$section"; and test "$provider" = oauth; and contains -- "$grant" authorization_code device_code
                string match -r -- '^[A-Za-z0-9._@-]+$' "$section"
            end
            set section $header
            set provider
            set grant
        else
            set -l kv (string match -rg -- '^\s*(provider|grant)\s*=\s*"?([^";#\s]*)' $line)
            test (count $kv) -eq 2; or continue
            switch $kv[1]
                case provider
                    set provider $kv[2]
                case grant
                    set grant $kv[2]
            end
        end
    end
end

set -l __tok_commands get status refresh clear login logout profiles init serve exec write setup env git-credential docker-credential kube-credential completion version help

# The command's one operand, offered until it is given.
function __tok_wants_operand -a command
    set -l tokens (commandline -opc)
    set -l i (contains -i -- $command $tokens); or return 1
    test $i -eq (count $tokens)
end

# tok exec ... -- CMD: completing another command's line.
function __tok_exec_command
    set -l tokens (commandline -opc)
    contains -- exec $tokens; and contains -- -- $tokens
end

complete -c tok -f
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a get -d "Print a token (from the cache while it is fresh)"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a status -d "Show the cache entry (never the token)"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a refresh -d "Fetch a new token now and cache it"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a clear -d "Delete the cache entry"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a login -d "Log in as yourself on a login profile"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a logout -d "Revoke the login and forget it"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a profiles -d "List the configured profiles"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a init -d "Write a first profile for a provider"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a exec -d "Run a command with the token in \$TOK_TOKEN"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a write -d "Write the token to a file, atomically"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a setup -d "Point git, Docker, kubectl or the AWS CLI at tok"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a serve -d "Serve tokens to SDKs as a metadata server"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a env -d "Print lines that set \$TOK_TOKEN"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a git-credential -d "git credential helper"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a docker-credential -d "Docker credential helper"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a kube-credential -d "Kubernetes exec credential plugin"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a completion -d "Print a shell completion script"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a version -d "Print the version"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -a help -d "Help of tok, of a command, or every profile key"

# Global flags, before or after the command.
complete -c tok -s p -l profile -x -a "(__tok_profiles)" -d "Profile to use"
complete -c tok -l config -r -F -d "Config file"
complete -c tok -l cache-dir -x -a "(__fish_complete_directories)" -d "Cache directory"
complete -c tok -s v -l verbose -d "Diagnostics on stderr"
complete -c tok -s q -l quiet -d "No warnings on stderr"
complete -c tok -s h -l help -d "Show help"
complete -c tok -n "not __fish_seen_subcommand_from $__tok_commands" -l version -d "Print the version"

# Every profile key is also a flag (tok --help lists them).
complete -c tok -l account -x -d "GCP service account of the metadata server"
complete -c tok -l async-refresh -x -a "true false" -d "Refresh stale tokens in the background"
complete -c tok -l audience -x -d "Audience"
complete -c tok -l auth-method -x -a "basic post private_key_jwt" -d "Client authentication"
complete -c tok -l az-path -r -F -d "The az program"
complete -c tok -l az-timeout -x -d "Kill az after this long"
complete -c tok -l ca-bundle -r -F -d "Extra CA file"
complete -c tok -l grant -x -a "client_credentials authorization_code device_code" -d "OAuth grant"
complete -c tok -l redirect-port -x -d "tok login: registered loopback port"
complete -c tok -l token-storage -x -a "file keyring" -d "tok login: where the refresh token lives"
complete -c tok -l client-id -x -d "Client id"
complete -c tok -l client-secret-env -x -d "Variable holding the secret"
complete -c tok -l client-secret-file -r -F -d "File holding the secret"
complete -c tok -l command -x -d "Program that prints a token"
complete -c tok -l command-timeout -x -d "Kill the command after this long"
complete -c tok -l default-lifetime -x -d "Lifetime of an answer that carries none"
complete -c tok -l docker-registries -x -d "Registries this profile serves"
complete -c tok -l docker-username -x -d "User name for Docker"
complete -c tok -l api-url -x -d "GitHub API URL"
complete -c tok -l app-id -x -d "GitHub App id"
complete -c tok -l exchange -x -a "token-exchange client-assertion" -d "How the ID token is exchanged"
complete -c tok -l expiry-buffer -x -d "Refresh this long before expiry"
complete -c tok -l failure-cache -x -d "How long an outage error answers later callers"
complete -c tok -l flavor -x -a "databricks azure-imds gcp" -d "Metadata service protocol"
complete -c tok -l gcp-service-account -x -d "GCP service account e-mail"
complete -c tok -l git-hosts -x -d "Hosts this profile serves to git"
complete -c tok -l git-username -x -d "User name for git"
complete -c tok -l host -x -d "Workspace URL"
complete -c tok -l http-timeout -x -d "HTTP timeout"
complete -c tok -l id-token-audience -x -d "Audience of the ID token (GitHub, GCP)"
complete -c tok -l id-token-env -x -d "Variable holding the GitLab ID token"
complete -c tok -l id-token-file -r -F -d "File holding the ID token"
complete -c tok -l id-token-source -x -a "github gitlab file" -d "Where the CI ID token comes from"
complete -c tok -l installation-id -x -d "GitHub App installation"
complete -c tok -l issuer -x -d "Issuer URL for discovery"
complete -c tok -l key-id -x -d "kid of the client assertion"
complete -c tok -l kube-token -x -a "access_token id_token" -d "Token given to kubectl"
complete -c tok -l max-stale-window -x -d "Longest stale window"
complete -c tok -l msi-res-id -x -d "Managed identity resource id"
complete -c tok -l object-id -x -d "Managed identity object id"
complete -c tok -l organization -x -d "Organization of the App installation"
complete -c tok -l permissions -x -d "Narrow the GitHub token to these permissions"
complete -c tok -l private-key-env -x -d "Variable holding the App private key"
complete -c tok -l private-key-file -r -F -d "Private key that signs the client assertion"
complete -c tok -l provider -x -a "oauth azure-cli metadata command oidc-federation github-app file" -d "Token source"
complete -c tok -l refresh-jitter -x -d "Share of the stale window by which refreshes come early"
complete -c tok -l refresh-timeout -x -d "Deadline of a blocking refresh"
complete -c tok -l repositories -x -d "Narrow the GitHub token to these repositories"
complete -c tok -l repository -x -d "OWNER/REPO of the App installation"
complete -c tok -l resource -x -d "Resource"
complete -c tok -l retry-backoff -x -d "Cooldown after a failed background refresh"
complete -c tok -l scope -x -d "Scope for az"
complete -c tok -l scopes -x -d "Scopes"
complete -c tok -l signing-alg -x -a "RS256 ES256" -d "Signature of the client assertion"
complete -c tok -l stale-window -x -d "Fixed stale window"
complete -c tok -l subscription -x -d "Azure subscription"
complete -c tok -l tenant -x -d "Azure tenant"
complete -c tok -l token-file -r -F -d "File holding the token"
complete -c tok -l token-url -x -d "Token endpoint"
complete -c tok -l url -x -d "Metadata service URL"
complete -c tok -l user -x -d "User of the App installation"

# Per command.
complete -c tok -n "__fish_seen_subcommand_from get write" -l format -x -a "token json header credential-process" -d "Output format"
complete -c tok -n "__fish_seen_subcommand_from get exec env kube-credential write" -l force-refresh -d "Fetch a new token now"
complete -c tok -n "__fish_seen_subcommand_from get exec env kube-credential write" -l min-valid -x -d "Refresh first unless valid this long"
complete -c tok -n "__fish_seen_subcommand_from write" -l mode -x -d "File mode, octal (default 0600)"
complete -c tok -n "__fish_seen_subcommand_from write" -l keep -d "Stay running, rewrite before the token goes stale"
complete -c tok -n "__fish_seen_subcommand_from write" -l exec -x -d "With --keep: a command run after each rewrite"
complete -c tok -n "__fish_seen_subcommand_from get" -l no-async -d "Never refresh in the background"
complete -c tok -n "__fish_seen_subcommand_from get kube-credential" -l id-token -d "The login's ID token"
complete -c tok -n "__fish_seen_subcommand_from status profiles version" -l format -x -a "text json" -d "Output format"
complete -c tok -n "__fish_seen_subcommand_from status" -l check -d "Exit 6 unless a usable token is cached"
complete -c tok -n "__fish_seen_subcommand_from status" -l min-valid -x -d "With --check: valid at least this long"
complete -c tok -n "__fish_seen_subcommand_from status" -l all -d "One line per profile"
complete -c tok -n "__fish_seen_subcommand_from status" -l claims -d "The JWT's header and claims, unverified"
complete -c tok -n "__fish_seen_subcommand_from profiles" -l state -d "Each profile's cache state"
complete -c tok -n "__fish_seen_subcommand_from init" -l print -d "Print the profile instead of writing the file"
complete -c tok -n "__fish_seen_subcommand_from clear" -l all -d "Delete every cache entry"
complete -c tok -n "__fish_seen_subcommand_from login" -l device -d "Log in with a code approved in any browser"
complete -c tok -n "__fish_seen_subcommand_from login" -l no-browser -d "Print the login URL instead of opening a browser"
complete -c tok -n "__fish_seen_subcommand_from login" -l timeout -r -d "How long to wait for the browser"
complete -c tok -n "__fish_seen_subcommand_from logout" -l force -d "Forget the login even when its refresh token cannot be revoked"
complete -c tok -n "__fish_seen_subcommand_from clear" -l unused -d "Delete the entries no profile uses"
complete -c tok -n "__fish_seen_subcommand_from serve" -l listen -x -d "Loopback ADDR:PORT"
complete -c tok -n "__fish_seen_subcommand_from serve" -l databricks -x -a "(__tok_profiles)" -d "Profile for Databricks SDKs"
complete -c tok -n "__fish_seen_subcommand_from serve" -l azure-imds -x -a "(__tok_profiles)" -d "Profile for Azure SDKs (App Service, IMDS)"
complete -c tok -n "__fish_seen_subcommand_from serve" -l gcp -x -a "(__tok_profiles)" -d "Profile for Google libraries"
complete -c tok -n "__fish_seen_subcommand_from serve" -l aws-ecs -x -a "(__tok_profiles)" -d "Profile for AWS SDKs (ECS container credentials)"
complete -c tok -n "__fish_seen_subcommand_from serve" -l allow-user -x -a "(__fish_complete_users)" -d "Also answer this user's processes"
complete -c tok -n "__fish_seen_subcommand_from serve" -l print-env -d "Print the SDKs' variables for the server on --listen"
complete -c tok -n "__fish_seen_subcommand_from serve" -l rotate-secrets -d "Make new secrets instead of reusing the kept ones"
complete -c tok -n "__fish_seen_subcommand_from setup" -l dry-run -d "Print the change and write nothing"
complete -c tok -n "__fish_seen_subcommand_from setup" -l remove -d "Take out what tok setup wrote"
complete -c tok -n "__fish_seen_subcommand_from setup" -l file -r -F -d "The file to change"
complete -c tok -n "__fish_seen_subcommand_from setup" -l name -x -d "Kubeconfig user or AWS profile name"
complete -c tok -n "__fish_seen_subcommand_from setup" -l context -x -d "Kubeconfig context to point at the user"
complete -c tok -n "__fish_seen_subcommand_from exec env" -l env-name -x -d "Variable for the token"
complete -c tok -n "__fish_seen_subcommand_from exec env" -l git -d "Give git the token on its first request"
complete -c tok -n "__fish_seen_subcommand_from exec" -l keep-secret-env -d "Leave the profile's secret variables to the command"
complete -c tok -n "__fish_seen_subcommand_from env serve" -l shell -x -a "sh fish github gitlab" -d "Output form"
complete -c tok -n "__tok_exec_command" -x -a "(__fish_complete_subcommand --fcs-skip=(math (contains -i -- -- (commandline -opc)) ))"
complete -c tok -n "__tok_wants_operand git-credential" -x -a "get store erase" -d "Operation"
complete -c tok -n "__tok_wants_operand docker-credential" -x -a "get store erase list version" -d "Action"
complete -c tok -n "__tok_wants_operand completion" -x -a "bash zsh fish" -d "Shell"
complete -c tok -n "__tok_wants_operand setup" -x -a "git docker kube aws" -d "Program"
complete -c tok -n "__tok_wants_operand help" -x -a "keys $__tok_commands" -d "Topic"
complete -c tok -n "__tok_wants_operand keys" -x -a "oauth azure-cli metadata command oidc-federation github-app file" -d "Provider"
