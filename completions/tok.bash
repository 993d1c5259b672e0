# bash completion for tok                                   -*- shell-script -*-
# Installed as share/bash-completion/completions/tok; `tok completion bash` prints this file.
# Self-contained: it needs neither the bash-completion package nor a working config file.

# Profile names: the [sections] of the config file tok would read (--config on the line, else
# $TOK_CONFIG, $XDG_CONFIG_HOME/tok/config, ~/.config/tok/config). Read here rather than asked of
# `tok profiles`, so a broken config or a tok not on PATH only means no names. The file may be a
# repository's: only names tok accepts ([A-Za-z0-9._@-]) are printed, and they are matched with a
# loop, never handed to `compgen -W`, which would expand a `$(...)` inside one. `_tok_profiles
# login`: only login profiles (provider = oauth, grant = authorization_code or device_code).
_tok_profiles() {
  local only=${1-} config="" i line name safe='^[A-Za-z0-9._@-]+$' section="" provider="" grant="" key value
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    if [[ ${COMP_WORDS[i]} == --config ]]; then
      config=${COMP_WORDS[i + 1]}
      # COMP_WORDBREAKS splits --config=FILE into three words.
      [[ $config == = ]] && config=${COMP_WORDS[i + 2]}
    elif [[ ${COMP_WORDS[i]} == --config=* ]]; then
      config=${COMP_WORDS[i]#--config=}
    fi
  done
  [[ $config == "~/"* ]] && config=$HOME/${config#"~/"}
  if [[ -z $config ]]; then
    if [[ -n ${TOK_CONFIG-} ]]; then
      config=$TOK_CONFIG
    elif [[ -n ${XDG_CONFIG_HOME-} ]]; then
      config=$XDG_CONFIG_HOME/tok/config
    else
      config=$HOME/.config/tok/config
    fi
  fi
  [[ -f $config && -r $config ]] || return 0
  # tok refuses a config file over 1 MiB; so does this, rather than read a file of any size
  # (wc -c asks the file system, it does not read it).
  local size
  size=$(wc -c <"$config" 2>/dev/null) || return 0
  ((size <= 1048576)) || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line#"${line%%[![:space:]]*}"}
    if [[ -n $only && $line != "["*"]"* && $line == *=* ]]; then
      key=${line%%=*}
      key=${key%"${key##*[![:space:]]}"}
      value=${line#*=}
      value=${value#"${value%%[![:space:]]*}"}
      value=${value#\"}
      value=${value%%[\";#[:space:]]*}
      [[ $key == provider ]] && provider=$value
      [[ $key == grant ]] && grant=$value
    fi
    [[ $line == "["*"]"* ]] || continue
    [[ -n $only && $provider == oauth && ($grant == authorization_code || $grant == device_code) ]] &&
      printf '%s\n' "$section"
    section="" provider="" grant=""
    name=${line#\[}
    name=${name%%]*}
    name=${name#"${name%%[![:space:]]*}"}
    name=${name%"${name##*[![:space:]]}"}
    [[ $name =~ $safe ]] || continue
    if [[ -n $only ]]; then
      section=$name
    else
      printf '%s\n' "$name"
    fi
  done <"$config"
  [[ -n $only && $provider == oauth && ($grant == authorization_code || $grant == device_code) ]] &&
    printf '%s\n' "$section"
  return 0
}

_tok() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # --format=json arrives as "--format" "=" "json".
  if [[ $cur == = ]]; then
    cur=""
  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi

  local commands="get status refresh clear login logout profiles init serve exec write setup env git-credential docker-credential kube-credential completion version help"
  local global="-p --profile --config --cache-dir -v --verbose -q --quiet -h --help --version"
  local keys="--account --api-url --app-id --async-refresh --audience --auth-method --az-path --az-timeout --ca-bundle --client-id
    --client-secret-env --client-secret-file --command --command-timeout --default-lifetime --docker-registries
    --docker-username --exchange --expiry-buffer --failure-cache --flavor --gcp-service-account --git-hosts
    --git-username --grant --host --http-timeout --id-token-audience --id-token-env --id-token-file
    --id-token-source --installation-id --issuer --key-id --kube-token --max-stale-window --msi-res-id --object-id --organization --permissions --private-key-env --private-key-file
    --provider --redirect-port --refresh-jitter --refresh-timeout --repositories --repository --resource --retry-backoff --scope --scopes --signing-alg --token-storage
    --stale-window --subscription --tenant --token-file --token-url --url --user"
  local with_value=" -p --profile --config --cache-dir --format --min-valid --shell --env-name --listen --databricks --azure-imds --gcp --aws-ecs --allow-user --file --name --context ${keys//$'\n'/ } "

  # The command is the first word that is neither a flag nor a flag's value.
  local cmd="" i=1 w after_dashdash=""
  while ((i < COMP_CWORD)); do
    w=${COMP_WORDS[i]}
    if [[ $w == -- ]]; then
      after_dashdash=$i
      break
    elif [[ $with_value == *" $w "* ]]; then
      ((i++))
      [[ ${COMP_WORDS[i]} == = ]] && ((i++))
    elif [[ $w != -* && $w != = && -z $cmd ]]; then
      cmd=$w
    fi
    ((i++))
  done

  # tok exec [...] -- CMD ARGS: the rest is another command's line.
  if [[ $cmd == exec && -n $after_dashdash ]]; then
    if ((COMP_CWORD == after_dashdash + 1)); then
      mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
    else
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
  fi

  local values=""
  case $prev in
    -p | --profile | --databricks | --azure-imds | --gcp | --aws-ecs)
      local name only=""
      # tok login and logout take a login profile.
      [[ ($prev == -p || $prev == --profile) && ($cmd == login || $cmd == logout) ]] && only=login
      COMPREPLY=()
      while IFS= read -r name; do
        [[ -n $name && $name == "$cur"* ]] && COMPREPLY+=("$name")
      done < <(_tok_profiles $only)
      return 0
      ;;
    --config | --file | --client-secret-file | --ca-bundle | --private-key-file | --id-token-file | --token-file | --az-path)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0
      ;;
    --cache-dir)
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      return 0
      ;;
    --allow-user)
      mapfile -t COMPREPLY < <(compgen -u -- "$cur")
      return 0
      ;;
    --format)
      case $cmd in
        status | profiles | version) values="text json" ;;
        *) values="token json header credential-process" ;;
      esac
      ;;
    --shell) values="sh fish github gitlab" ;;
    --provider) values="oauth azure-cli metadata command oidc-federation github-app file" ;;
    --auth-method) values="basic post private_key_jwt" ;;
    --signing-alg) values="RS256 ES256" ;;
    --exchange) values="token-exchange client-assertion" ;;
    --id-token-source) values="github gitlab file" ;;
    --flavor) values="databricks azure-imds gcp" ;;
    --async-refresh) values="true false" ;;
    *)
      if [[ $with_value == *" $prev "* ]]; then
        COMPREPLY=()
        return 0
      fi
      ;;
  esac
  if [[ -n $values ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur")
    return 0
  fi

  local flags="" words=""
  case $cmd in
    "") words=$commands ;;
    get) flags="--format --force-refresh --min-valid --no-async --id-token" ;;
    status) flags="--format --check --min-valid --all --claims" ;;
    clear) flags="--all --unused" ;;
    login) flags="--device --no-browser --timeout" ;;
    logout) flags="--force" ;;
    profiles) flags="--format --state" ;;
    version) flags="--format" ;;
    init) flags="--print" ;;
    serve) flags="--listen --databricks --azure-imds --gcp --aws-ecs --allow-user --print-env --shell --rotate-secrets" ;;
    exec) flags="--env-name --git --force-refresh --min-valid --keep-secret-env --" ;;
    write) flags="--format --mode --force-refresh --min-valid --keep --exec" ;;
    env) flags="--shell --env-name --git --force-refresh --min-valid" ;;
    kube-credential) flags="--force-refresh --min-valid --id-token" ;;
    help)
      # tok help [COMMAND | keys [PROVIDER]]
      if [[ $prev == keys ]]; then
        words="oauth azure-cli metadata command oidc-federation github-app file"
      elif [[ $prev == help ]]; then
        words="keys $commands"
      fi
      ;;
    git-credential | docker-credential | completion | setup)
      [[ $cmd == setup ]] && flags="--dry-run --remove --file --name --context"
      # One operand: offered until it is given.
      local given=""
      for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        [[ $w == "$cmd" ]] && given=found && continue
        if [[ $given == found && $w != -* && $w != = && $with_value != *" ${COMP_WORDS[i - 1]} "* ]]; then
          given=yes
        fi
      done
      if [[ $given != yes ]]; then
        case $cmd in
          git-credential) words="get store erase" ;;
          docker-credential) words="get store erase list version" ;;
          completion) words="bash zsh fish" ;;
          setup) words="git docker kube aws" ;;
        esac
      fi
      ;;
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$flags $global $keys" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
  fi
  return 0
}

complete -F _tok tok
