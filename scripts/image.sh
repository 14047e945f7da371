#!/usr/bin/env bash
# `npm run image`: builds the ingestor image on this machine without a Docker daemon and measures it.
#
# No registry is reachable here, so no base image can be pulled: the image is built FROM scratch with
# exactly what the runtime needs, taken from this machine:
#   - this machine's node binary (symbols stripped) and the shared libraries `ldd` says it loads,
#   - ingestor/dist/main.js (bash ingestor/build.sh: the esbuild bundle),
#   - the zlib-sync native addon built by `npm ci` (its .node file and package.json/index.js),
#   - /etc/passwd and /etc/group with the unprivileged user `node` (uid 1000), /tmp/spool owned by it.
# buildah (Debian package) assembles and commits it as root with the vfs storage driver and chroot
# isolation (no daemon, no overlay mount needed); the Docker format keeps HEALTHCHECK, which the OCI
# image format has no field for. The image is for this machine's architecture (Fargate runs the arm64
# one that ingestor/Dockerfile builds with Docker at deploy time).
#
#   npm run image                 build, print sizes, smoke-test /health if an OCI runtime works
#   npm run image -- --no-run     build and measure only
#   IMAGE_OUT=dir npm run image   where the oci-archive goes (default: $GATEWAY_PROXY_STATE_DIR/image)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=1
for a in "$@"; do
  case "$a" in
    --no-run) RUN=0 ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) echo "npm run image: unknown argument '$a' (known: --no-run)" >&2; exit 2 ;;
  esac
done
for tool in buildah strip ldd; do
  if ! command -v "$tool" >/dev/null; then
    echo "npm run image needs '$tool': apt-get install -y --no-install-recommends buildah binutils (Debian/Ubuntu)" >&2
    exit 2
  fi
done
ZLIB_NODE=node_modules/zlib-sync/build/Release/zlib_sync.node
[ -f "$ZLIB_NODE" ] || { echo "missing $ZLIB_NODE: run 'npm ci' (it builds zlib-sync; needs make and a C++ compiler)" >&2; exit 2; }

STATE="${GATEWAY_PROXY_STATE_DIR:-$HOME/.local/state/discord-gateway-proxy}"
OUT="${IMAGE_OUT:-$STATE/image}"
STORE="$STATE/image-store"
mkdir -p "$OUT" "$STORE/root" "$STORE/run"
TAG=localhost/discord-gateway-ingestor:local
export BUILDAH_FORMAT=docker
BAH=(buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs)

echo "== bundle (bash ingestor/build.sh)"
bash ingestor/build.sh

echo "== root filesystem"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"; [ -n "${CTR:-}" ] && "${BAH[@]}" rm "$CTR" >/dev/null 2>&1 || true' EXIT
NODE_BIN=$(readlink -f "$(command -v node)")
install -D -m 0755 "$NODE_BIN" "$STAGE/usr/local/bin/node"
# .symtab goes, .dynsym stays: the addon still resolves its napi_* symbols from node
strip --strip-all "$STAGE/usr/local/bin/node"
# the loader and every library node or the addon loads, at the paths the binaries ask for
for lib in $( (ldd "$NODE_BIN"; ldd "$ZLIB_NODE") | awk '/=> \//{print $3} $1 ~ /^\//{print $1}' | sort -u); do
  install -D -m 0755 "$(readlink -f "$lib")" "$STAGE$lib"
done
install -D -m 0644 ingestor/dist/main.js "$STAGE/app/main.js"
install -D -m 0644 ingestor/dist/main.js.LEGAL.txt "$STAGE/app/main.js.LEGAL.txt"
install -D -m 0755 "$ZLIB_NODE" "$STAGE/app/node_modules/zlib-sync/build/Release/zlib_sync.node"
install -D -m 0644 node_modules/zlib-sync/package.json "$STAGE/app/node_modules/zlib-sync/package.json"
for f in index.js index.d.ts LICENSE; do
  [ -f "node_modules/zlib-sync/$f" ] && install -D -m 0644 "node_modules/zlib-sync/$f" "$STAGE/app/node_modules/zlib-sync/$f"
done
mkdir -p "$STAGE/etc" "$STAGE/tmp/spool"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\n' > "$STAGE/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$STAGE/etc/group"
chmod 1777 "$STAGE/tmp"
chown 1000:1000 "$STAGE/tmp/spool"

echo "== image (buildah, FROM scratch, no daemon)"
CTR=$("${BAH[@]}" from scratch)
"${BAH[@]}" copy --quiet "$CTR" "$STAGE/" / >/dev/null
# the same health check as the ECS task definition (lib/constructs/ingestor-service.ts): node, no curl.
# buildah splits --healthcheck into shell words (a JSON array would become one word "[node,-e,...]",
# an executable that does not exist), so the script is one single-quoted word.
HEALTH='fetch("http://127.0.0.1:8080/health").then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))'
"${BAH[@]}" config \
  --user 1000:1000 --workingdir /app \
  --env NODE_ENV=production --env HTTP_PORT=8080 --env SPOOL_DIR=/tmp/spool \
  --port 8080 \
  --healthcheck "CMD node -e '$HEALTH'" \
  --healthcheck-interval 15s --healthcheck-timeout 5s --healthcheck-retries 3 --healthcheck-start-period 30s \
  --cmd '["node","main.js"]' \
  --label org.opencontainers.image.title=discord-gateway-ingestor \
  "$CTR"
"${BAH[@]}" commit --quiet --format docker --rm "$CTR" "$TAG" >/dev/null
CTR=
rm -f "$OUT/ingestor.tar"
"${BAH[@]}" push --quiet "$TAG" "docker-archive:$OUT/ingestor.tar:$TAG" >/dev/null

echo "== measured"
UNCOMPRESSED=$(du -sb --apparent-size "$STAGE" | cut -f1)
GZ=$(tar -C "$STAGE" -cf - . | gzip -6 | wc -c)
NODE_SIZE=$(stat -c %s "$STAGE/usr/local/bin/node")
mib() { awk -v b="$1" 'BEGIN{printf "%.1f MiB", b/1048576}'; }
echo "image $TAG ($(uname -m)), user $("${BAH[@]}" inspect --format '{{.OCIv1.Config.User}}' "$TAG"), healthcheck: $("${BAH[@]}" inspect --format '{{.Docker.Config.Healthcheck.Test}}' "$TAG")"
echo "size uncompressed:        $(mib "$UNCOMPRESSED") (what the task's disk holds)"
echo "size compressed (gzip):   $(mib "$GZ") (what ECR stores and Fargate pulls)"
echo "  node binary (stripped): $(mib "$NODE_SIZE")"
echo "  bundle main.js:         $(mib "$(stat -c %s "$STAGE/app/main.js")")"
echo "  shared libraries:       $(mib "$(du -cb --apparent-size "$STAGE"/lib* "$STAGE"/usr/lib* 2>/dev/null | tail -1 | cut -f1)")"
echo "archive: $OUT/ingestor.tar (docker-archive; 'podman load -i' or 'docker load -i' it)"
printf '{"uncompressedBytes":%s,"gzipBytes":%s,"nodeBytes":%s,"arch":"%s"}\n' "$UNCOMPRESSED" "$GZ" "$NODE_SIZE" "$(uname -m)" > "$OUT/size.json"

[ "$RUN" = 1 ] || exit 0
echo "== smoke test: the image under an OCI runtime (runc), GET /health, its HEALTHCHECK, SIGTERM"
curl -sf -m 2 -o /dev/null "${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}" 2>/dev/null || bash local/env.sh up
exec npx tsx local/image-smoke.ts "$STORE" "$TAG"
