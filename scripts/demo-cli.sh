#!/usr/bin/env bash
# The command-line side of Bridle (`make demo-cli`): check the example scripts, then play both
# sides of Bridle's trust boundary on the command line — a planner that mints a capability
# token for one script and one executor instance, and the executor's policy enforcement
# point deciding every step of it against the user's local policy (a dry run: no browser).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cargo build --quiet -p bridle-cli
B=target/debug/bridle
out=target/demo
rm -rf "$out" && mkdir -p "$out"

say "bridle check examples/*.bridle"
$B check examples/*.bridle

say "bridle check --steps examples/shopping_cart_checkout.bridle"
$B check --steps examples/shopping_cart_checkout.bridle

say "a planner key pair and this browser's instance key pair"
$B keys new --out "$out/planner.key" --json > "$out/planner.json"
$B keys new --out "$out/instance.key" --json > "$out/instance.json"
field() { sed -n "s/.*\"$2\": \"\\([^\"]*\\)\".*/\\1/p" "$1"; }
kid=$(field "$out/planner.json" kid)
pub=$(field "$out/planner.json" public_key)
instance=$(field "$out/instance.json" instance_id)
echo "planner key id: $kid"
echo "instance id:    $instance"

say "the user's local policy: policies/examples/shop-standing-grant.toml, trusting that planner"
sed -e "s|^kid = .*|kid = \"$kid\"|" -e "s|^public_key = .*|public_key = \"$pub\"|" \
  policies/examples/shop-standing-grant.toml > "$out/policy.toml"
grep -E '^\[|^(origin|allow|ask|deny|standing|max_amount|approval) ' "$out/policy.toml"

script=examples/shopping_cart_checkout.bridle
say "the planner mints a token for exactly this script and this instance"
token=$($B token mint --key "$out/planner.key" --iss home-planner --aud "$instance" \
  --ttl 10m --script "$script" \
  --origin https://shop.example --origin https://pay.example \
  --verb navigate --verb click --verb fill --verb check --verb submit \
  --secret visa-personal --max-amount 20EUR)
echo "$token" > "$out/token"
$B token inspect "$token"

say "bridle authorize: the decision for every step (plan preview)"
$B authorize --policy "$out/policy.toml" --token "$token" --instance "$instance" "$script"

say "a hostile planner: the same token on an edited script"
sed 's/Place order/Place order and subscribe/' "$script" > "$out/edited.bridle"
if $B authorize --policy "$out/policy.toml" --token "$token" --instance "$instance" "$out/edited.bridle" | head -3; then
  echo "unexpected: the edited script was authorised" >&2; exit 1
fi

say "a hostile planner: a token that grants uploads, which the policy denies on the shop"
printf 'bridle 1\ngoal "Upload a file"\norigins "https://shop.example"\nnavigate "https://shop.example/returns"\nupload button "Attach receipt"\n' > "$out/upload.bridle"
wide=$($B token mint --key "$out/planner.key" --iss home-planner --aud "$instance" \
  --script "$out/upload.bridle" --verb navigate --verb upload)
if $B authorize --policy "$out/policy.toml" --token "$wide" --instance "$instance" "$out/upload.bridle"; then
  echo "unexpected: the widening token was honoured" >&2; exit 1
fi

say "done: every step above was decided by the token ∩ the local policy, never by the planner's words"
