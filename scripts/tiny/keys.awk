# Prints the SSH public keys a YAML document names under the top-level
# keys listed in "keys" (space-separated), one per line. busybox awk;
# installed as /lib/tiny/keys.awk by scripts/mk-tiny.sh.
#
#   awk -v keys="public-keys public-keys-data" -f keys.awk meta-data
#   awk -v keys=ssh_authorized_keys -f keys.awk cloud-config
#
# Understood under such a key: a scalar ("key: VALUE"), a block list
# ("key:" then "- VALUE" lines) and a block map ("key:" then "name: VALUE"
# lines, OpenStack's form). VALUE is plain, 'single-quoted' or
# "double-quoted" with JSON/YAML escapes (\n splits a value into several
# keys: meta-data's public-keys-data). Flow collections ([a, b]) and keys
# nested deeper (users: ...) are not read. CRs are dropped.

function trim(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}

function hexval(h,    i, c, v) {
	v = 0
	h = tolower(h)
	for (i = 1; i <= length(h); i++) {
		c = index("0123456789abcdef", substr(h, i, 1))
		if (c == 0)
			return -1
		v = v * 16 + c - 1
	}
	return v
}

# A double-quoted scalar's content (quotes removed) with escapes undone.
function unescape(s,    out, i, c, v) {
	out = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c != "\\") {
			out = out c
			continue
		}
		i++
		c = substr(s, i, 1)
		if (c == "n")
			out = out "\n"
		else if (c == "t")
			out = out "\t"
		else if (c == "r")
			out = out "\r"
		else if (c == "u") {
			v = hexval(substr(s, i + 1, 4))
			# Keys are ASCII; anything else is kept escaped.
			if (v >= 32 && v < 127)
				out = out sprintf("%c", v)
			else
				out = out "\\u" substr(s, i + 1, 4)
			i += 4
		} else
			out = out c # \" \\ \/
	}
	return out
}

function scalar(v,    q) {
	v = trim(v)
	if (v ~ /^".*"$/)
		return unescape(substr(v, 2, length(v) - 2))
	if (v ~ /^'.*'$/) {
		v = substr(v, 2, length(v) - 2)
		gsub(/''/, "'", v)
		return v
	}
	sub(/[ \t]+#.*$/, "", v) # a comment after a plain scalar
	return v
}

function emit(v,    n, i, a) {
	n = split(scalar(v), a, "\n")
	for (i = 1; i <= n; i++) {
		a[i] = trim(a[i])
		if (a[i] != "" && !(a[i] in seen)) {
			seen[a[i]] = 1
			print a[i]
		}
	}
}

BEGIN {
	nk = split(keys, want, " ")
	for (i = 1; i <= nk; i++)
		wanted[want[i]] = 1
	inside = 0
}

{
	sub(/\r$/, "")
}

# A top-level mapping key ends the previous one.
/^[^ \t#-][^:]*:/ {
	inside = 0
	k = $0
	sub(/:.*/, "", k)
	k = trim(k)
	if (k ~ /^".*"$/ || k ~ /^'.*'$/)
		k = substr(k, 2, length(k) - 2)
	if (!(k in wanted))
		next
	v = substr($0, index($0, ":") + 1)
	if (trim(v) == "" || trim(v) ~ /^#/)
		inside = 1
	else if (trim(v) !~ /^[\[{|>]/)
		emit(v)
	next
}

inside && /^[ \t]*-[ \t]/ {
	v = $0
	sub(/^[ \t]*-[ \t]+/, "", v)
	emit(v)
	next
}

inside && /^[ \t]+[^ \t#][^:]*:[ \t]/ {
	v = $0
	sub(/^[ \t]+[^:]*:[ \t]+/, "", v)
	emit(v)
	next
}

inside && /^-[ \t]/ {
	# "key:\n- item": a block list may start in column 0
	v = $0
	sub(/^-[ \t]+/, "", v)
	emit(v)
	next
}
