#!/bin/sh
# riskmap @VERSION@ (@PLATFORM@): offline install. 离线安装。
#   sh install.sh [目录 directory]      (default 默认: ./venv beside this script 本脚本旁的 venv 目录)
# Makes a virtual environment with this machine's Python 3.11 or 3.12 and installs riskmap from ./wheels
# without any network. PYTHON=/path/to/python3.12 sh install.sh picks the interpreter.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=${1:-"$here/venv"}

fail() {
  printf '%s\n%s\n' "$1" "$2" >&2
  exit 1
}

machine=$(uname -m)
[ "$machine" = "@MACHINE@" ] || fail \
  "本安装包适用于 @MACHINE@ 机器，本机是 $machine：请换用 riskmap-@VERSION@-linux-$machine.zip。" \
  "This bundle is for @MACHINE@ machines; this one is $machine: use riskmap-@VERSION@-linux-$machine.zip."

py=""
found=""
for candidate in ${PYTHON:-python3.12 python3.11 python3}; do
  command -v "$candidate" >/dev/null 2>&1 || continue
  found="$found $candidate: $("$candidate" --version 2>&1)"
  if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' 2>/dev/null; then
    py=$candidate
    break
  fi
done
[ -n "$py" ] || fail \
  "未找到 Python 3.11 或 3.12（本机：${found:- 没有 python3}）。请安装 Python 3.11 或 3.12（发行版的 python3 和 python3-venv 软件包），再运行 sh install.sh。" \
  "Python 3.11 or 3.12 not found (this machine:${found:- no python3}). Install Python 3.11 or 3.12 (the distribution's python3 and python3-venv packages), then run sh install.sh again."

glibc=$("$py" -c 'import platform; print(platform.libc_ver()[1] or "0")')
"$py" -c 'import sys; v = tuple(int(x) for x in sys.argv[1].split(".")[:2]); sys.exit(v < (2, 28))' "$glibc" || fail \
  "本机的 glibc 是 $glibc，riskmap 需要 glibc @GLIBC@ 或更新的系统（麒麟 V10、统信 UOS 20、Debian 10 及以后）。" \
  "This machine's glibc is $glibc; riskmap needs glibc @GLIBC@ or newer (Kylin V10, UOS 20, Debian 10 and later)."

if [ -e "$target" ] && [ ! -f "$target/pyvenv.cfg" ] && [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
  fail "$target 已存在且不是空目录：请指定一个新目录，例如 sh install.sh $HOME/riskmap-venv。" \
    "$target exists and is not empty: name a new directory, e.g. sh install.sh $HOME/riskmap-venv."
fi

echo "Python: $("$py" --version 2>&1) ($py) -> $target"
"$py" -m venv "$target" || fail \
  "无法用 $py 创建虚拟环境：请安装发行版的 python3-venv 软件包（例如 apt install python3-venv），再运行 sh install.sh。" \
  "Cannot create a virtual environment with $py: install the distribution's python3-venv package (e.g. apt install python3-venv), then run sh install.sh again."

# --isolated and no config file: the office's pip.conf and PIP_* variables (an unreachable mirror) stay out.
PIP_CONFIG_FILE=/dev/null "$target/bin/python" -m pip --isolated install -q --disable-pip-version-check \
  --no-index --find-links "$here/wheels" "@REQUIREMENT@" || fail \
  "安装失败（见上方 pip 的信息）。" "Installation failed (see pip's message above)."

cat <<EOF

riskmap @VERSION@ 已安装。Installed.
试运行示例区县（地图、GeoPackage、检查计划）Try the demo district (map, GeoPackage, inspection plan):
  "$target/bin/riskmap" demo
  然后用浏览器打开 then open in a browser: riskmap-demo/map.html
示例区县的 Word 报告 The demo district's Word report:
  "$target/bin/riskmap" init demo-project
  "$target/bin/riskmap" report demo-project/riskmap.toml --out demo-report
你自己的区县：修改 demo-project 里的文件，再运行 Your own district: edit the files in demo-project, then run
  "$target/bin/riskmap" run demo-project/riskmap.toml
EOF
