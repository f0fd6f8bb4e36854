# Splits a MIME message (the user-data cloud-init's NoCloud datasource
# reads, e.g. the multipart/mixed document the plugin writes when SSH keys
# are given) into its leaf parts. busybox awk; installed as
# /lib/tiny/mime.awk by scripts/mk-tiny.sh, run by /lib/tiny/userdata.
#
#   awk -v out=DIR -f mime.awk MESSAGE
#
# For leaf part N (1, 2, ... in document order, nested multiparts flattened)
# it writes DIR/N.raw (the body, still transfer-encoded) and appends to
# DIR/index one line "N|type|encoding|filename" (type and encoding
# lowercased, "" when the part has none: text/plain, 7bit; "|", tabs and
# line breaks in the filename become "_"). A body ends before the line break that precedes its
# delimiter line (RFC 2046 5.1.1). CRs at line ends are dropped. A message
# that is not multipart is one leaf: its body after the header block.

function lower(s) { return tolower(s) }

function trim(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}

# The value of parameter name (lowercase) in a header value such as
# 'multipart/mixed; boundary="b"' (quoted or not), or "".
function param(v, name,    n, i, p, k, val, a) {
	n = split(v, a, ";")
	for (i = 2; i <= n; i++) {
		p = trim(a[i])
		k = index(p, "=")
		if (k == 0 || lower(trim(substr(p, 1, k - 1))) != name)
			continue
		val = trim(substr(p, k + 1))
		if (val ~ /^".*"$/)
			val = substr(val, 2, length(val) - 2)
		return val
	}
	return ""
}

# One complete header line (continuations joined): remember the fields we use.
function header(h,    k, name, v) {
	k = index(h, ":")
	if (k == 0)
		return
	name = lower(trim(substr(h, 1, k - 1)))
	v = trim(substr(h, k + 1))
	if (name == "content-type") {
		ctype = lower(v)
		sub(/[ \t]*;.*/, "", ctype)
		boundary = param(v, "boundary")
		if (fname == "")
			fname = param(v, "name")
	} else if (name == "content-transfer-encoding") {
		cte = lower(v)
	} else if (name == "content-disposition") {
		if (param(v, "filename") != "")
			fname = param(v, "filename")
	}
}

function start_entity() {
	state = "head"
	ctype = ""
	boundary = ""
	cte = ""
	fname = ""
	pending = ""
}

# The header block is over: a multipart opens a level, anything else is a leaf.
function end_headers(    t) {
	if (pending != "")
		header(pending)
	pending = ""
	if (ctype ~ /^multipart\// && boundary != "") {
		depth++
		bnd[depth] = boundary
		state = "skip" # its preamble
		return
	}
	n++
	file = out "/" n ".raw"
	printf "" >file
	first = 1
	t = fname
	gsub(/[|\t\n]/, "_", t)
	printf "%d|%s|%s|%s\n", n, ctype, cte, t >>(out "/index")
	close(out "/index")
	state = "body"
}

function end_leaf() {
	if (state == "body")
		close(file)
}

# 0 when line is no delimiter of an open level, else that level (negative
# when it is the closing "--boundary--").
function delimiter(line,    i, b, rest) {
	if (substr(line, 1, 2) != "--")
		return 0
	for (i = depth; i >= 1; i--) {
		b = bnd[i]
		if (substr(line, 3, length(b)) != b)
			continue
		rest = substr(line, 3 + length(b))
		if (rest ~ /^[ \t]*$/)
			return i
		if (rest ~ /^--[ \t]*$/)
			return -i
	}
	return 0
}

BEGIN {
	if (out == "") {
		print "mime.awk: set out=DIR" >"/dev/stderr"
		exit 2
	}
	printf "" >(out "/index")
	close(out "/index")
	depth = 0
	n = 0
	start_entity()
}

{
	sub(/\r$/, "")
}

state == "head" {
	if ($0 == "") {
		end_headers()
	} else if ($0 ~ /^[ \t]/ && pending != "") {
		pending = pending " " trim($0)
	} else {
		if (pending != "")
			header(pending)
		pending = $0
	}
	next
}

{
	d = depth > 0 ? delimiter($0) : 0
	if (d > 0) {
		end_leaf()
		depth = d
		start_entity()
		next
	}
	if (d < 0) {
		end_leaf()
		depth = -d - 1
		state = "skip" # the epilogue, up to the parent's next delimiter
		next
	}
	if (state == "body") {
		if (first)
			printf "%s", $0 >file
		else
			printf "\n%s", $0 >file
		first = 0
	}
}

END {
	if (state == "head")
		end_headers()
	end_leaf()
}
