#!/usr/bin/env bash
# Checks the system packages the portal uses and says how to install what is missing.
# Nothing here is fatal for running the portal: PDFs still render, only without Chinese glyphs or slowly.
set -u
missing=()
fc-list 2>/dev/null | grep -qiE 'Noto (Sans|Serif) CJK|WenQuanYi' || missing+=(fonts-noto-cjk)
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so' || missing+=(libharfbuzz-subset0)
if [ ${#missing[@]} -gt 0 ]; then
  echo "提示：缺少系统软件包 ${missing[*]}，中文 PDF 证书将无法正确显示或生成很慢。"
  echo "note: missing system packages: ${missing[*]} (Chinese PDFs need them). Install with:"
  echo "      sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
fi
exit 0
