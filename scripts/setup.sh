#!/usr/bin/env bash
# Installs everything a fresh machine with only Node.js and npm needs to build, test and
# demo this repository: pnpm (the version pinned in package.json), redis-server (for the
# integration tests and the demo of later packages), the workspace's dependencies, and a
# first build. Safe to run again: every step is skipped when already done.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*"; }
warn() { printf 'setup: WARNING: %s\n' "$*" >&2; }
die() {
  printf 'setup: ERROR: %s\n' "$*" >&2
  exit 1
}

export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
export TURBO_TELEMETRY_DISABLED=1

# Runs a command as root: directly when we are root, through sudo when it exists.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    return 127
  fi
}

# --- Node.js -------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "Node.js is not installed: install Node.js 20, 22 or 24 first."
command -v npm >/dev/null 2>&1 || die "npm is not installed: it comes with Node.js."
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  die "Node.js $(node --version) is too old: this repository needs Node.js 20 or newer."
fi
log "node $(node --version), npm $(npm --version)"

# --- pnpm ------------------------------------------------------------------------------------
pnpm_version="$(node -p 'require("./package.json").packageManager.replace(/^pnpm@/, "").split("+")[0]')"
current_pnpm=""
if command -v pnpm >/dev/null 2>&1; then
  current_pnpm="$(pnpm --version 2>/dev/null || true)"
fi
if [ "$current_pnpm" = "$pnpm_version" ]; then
  log "pnpm $pnpm_version already installed"
else
  log "installing pnpm $pnpm_version (found: ${current_pnpm:-none})"
  npm_prefix="$(npm prefix -g)"
  npm_target="$npm_prefix/lib/node_modules"
  while [ ! -e "$npm_target" ] && [ "$npm_target" != "/" ]; do npm_target="$(dirname "$npm_target")"; done
  if [ -w "$npm_target" ]; then
    npm install -g --no-fund --no-audit --loglevel=error "pnpm@$pnpm_version"
  elif command -v sudo >/dev/null 2>&1; then
    sudo npm install -g --no-fund --no-audit --loglevel=error "pnpm@$pnpm_version"
  else
    die "cannot write to npm's global prefix $npm_prefix: run 'npm install -g pnpm@$pnpm_version' with the rights to do so, then run this again."
  fi
  hash -r
  if ! command -v pnpm >/dev/null 2>&1; then
    # The global bin folder is not on PATH (some Node.js installs): use it for this run.
    export PATH="$npm_prefix/bin:$PATH"
    warn "pnpm was installed to $npm_prefix/bin, which is not on your PATH: add it."
  fi
  current_pnpm="$(pnpm --version)"
  [ "$current_pnpm" = "$pnpm_version" ] || die "expected pnpm $pnpm_version on PATH, found $current_pnpm ($(command -v pnpm))."
  log "pnpm $current_pnpm installed"
fi

# --- redis-server ----------------------------------------------------------------------------
# The tests start their own redis-server processes on random ports, so a system service that
# a package install starts is stopped again.
stop_redis_service() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    as_root service redis-server stop >/dev/null 2>&1 || true
  fi
}

install_redis() {
  case "$(uname -s)" in
    Darwin)
      if command -v brew >/dev/null 2>&1; then
        log "installing redis with Homebrew"
        brew install redis || warn "'brew install redis' failed: install Redis 7 or newer yourself."
      else
        warn "redis-server not found and Homebrew is missing: install the 'redis' package (Redis 7 or newer)."
      fi
      ;;
    Linux)
      if command -v apt-get >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
          warn "redis-server not found and neither root nor sudo available: install the 'redis-server' and 'redis-tools' packages."
          return
        fi
        log "installing redis-server and redis-tools with apt-get"
        if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
          as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            redis-server redis-tools >/dev/null; then
          stop_redis_service
        else
          warn "apt-get could not install redis-server: install the 'redis-server' and 'redis-tools' packages."
        fi
      else
        warn "redis-server not found: install Redis 7 or newer with your package manager (the package is usually 'redis' or 'redis-server')."
      fi
      ;;
    *)
      warn "redis-server not found: install Redis 7 or newer (https://redis.io/docs/latest/operate/oss_and_stack/install/)."
      ;;
  esac
}

if command -v redis-server >/dev/null 2>&1; then
  log "$(redis-server --version | cut -d' ' -f1-3) already installed"
else
  install_redis
  hash -r
  if command -v redis-server >/dev/null 2>&1; then
    log "$(redis-server --version | cut -d' ' -f1-3) installed"
  else
    # The core package does not need it; the integration tests of later packages do.
    warn "continuing without redis-server: the tests and demos that need it will fail."
  fi
fi

# --- dependencies and first build --------------------------------------------------------------
log "pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile --reporter=append-only
log "pnpm build"
pnpm run build --output-logs=errors-only
log "done"
