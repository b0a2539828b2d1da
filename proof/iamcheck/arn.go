package iamcheck

import "strings"

// Matching a policy's Resource against a reference ARN pattern is the
// intersection of two glob languages: the pattern has literals and ${...}
// placeholders, the policy has literals and IAM's wildcards (* any run of
// characters, ? one character) and policy variables such as ${aws:username}.
// A resource fits a pattern when some concrete ARN matches both.

type tokKind uint8

const (
	tokLit  tokKind = iota // one literal character
	tokOne                 // exactly one character of the class
	tokStar                // zero or more characters of the class
)

type tok struct {
	kind    tokKind
	c       byte
	noColon bool // the class excludes ':' (placeholders before the resource part)
	noSlash bool // the class excludes '/' (names that cannot hold a path)
}

type arnPattern struct {
	text string
	toks []tok
}

// slashNames are the reference's placeholders whose values may hold '/':
// object keys, log group and stream names, parameter and repository names,
// secret names and IAM names with a path (…WithPath, EntityPath). Every other
// placeholder is one path segment, so arn:aws:s3:::b/* is not a bucket.
//
// ConnectionName is one too: the reference writes an EventBridge
// connection as connection/${ConnectionName}, but the ARN AWS gives it is
// connection/<name>/<id> (EventBridge API Reference, CreateConnection,
// ConnectionArn), so connection/<name>/* is how a policy names it.
var slashNames = map[string]bool{
	"ObjectName": true, "LogGroupName": true, "LogStreamName": true,
	"ParameterNameWithoutLeadingSlash": true, "RepositoryName": true, "SecretId": true,
	"ConnectionName": true,
}

// compileARN turns arn:${Partition}:rds:${Region}:${Account}:cluster:${Name}
// into tokens. A placeholder is one or more characters; in the partition,
// service, region and account fields it cannot contain ':', in the resource
// part it can (log group ARNs end in :*).
func compileARN(p string) *arnPattern {
	ap := &arnPattern{text: p}
	colons := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '$' && i+1 < len(p) && p[i+1] == '{' {
			if j := strings.IndexByte(p[i:], '}'); j > 0 {
				name := p[i+2 : i+j]
				nc := colons < 5
				ns := !slashNames[name] && !strings.HasSuffix(name, "Path")
				ap.toks = append(ap.toks, tok{kind: tokOne, noColon: nc, noSlash: ns}, tok{kind: tokStar, noColon: nc, noSlash: ns})
				i += j
				continue
			}
		}
		if p[i] == ':' {
			colons++
		}
		if p[i] == '*' {
			// A literal * in a reference pattern stands for any value of
			// its field: AWS Backup's recoveryPoint is
			// arn:${Partition}:${Vendor}:${Region}:*:${ResourceType}:${RecoveryPointId}.
			ap.toks = append(ap.toks, tok{kind: tokStar, noColon: colons < 5})
			continue
		}
		ap.toks = append(ap.toks, tok{kind: tokLit, c: p[i]})
	}
	return ap
}

// compileGlob turns a policy Resource into tokens: * and ${...} policy
// variables match any run, ? one character.
func compileGlob(s string) []tok {
	var ts []tok
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '*':
			ts = append(ts, tok{kind: tokStar})
		case s[i] == '?':
			ts = append(ts, tok{kind: tokOne})
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			if j := strings.IndexByte(s[i:], '}'); j > 0 {
				ts = append(ts, tok{kind: tokStar})
				i += j
				continue
			}
			ts = append(ts, tok{kind: tokLit, c: s[i]})
		default:
			ts = append(ts, tok{kind: tokLit, c: s[i]})
		}
	}
	return ts
}

// compatible reports whether two single-character tokens can produce the
// same character.
func compatible(a, b tok) bool {
	switch {
	case a.kind == tokLit && b.kind == tokLit:
		return a.c == b.c
	case a.kind == tokLit:
		return !(b.noColon && a.c == ':') && !(b.noSlash && a.c == '/')
	case b.kind == tokLit:
		return !(a.noColon && b.c == ':') && !(a.noSlash && b.c == '/')
	default:
		return true // both classes share letters
	}
}

// intersects reports whether some string matches both token sequences.
func intersects(a, b []tok) bool {
	memo := map[[2]int]bool{}
	seen := map[[2]int]bool{}
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		k := [2]int{i, j}
		if seen[k] {
			return memo[k]
		}
		seen[k] = true
		var r bool
		switch {
		case i == len(a) && j == len(b):
			r = true
		case i < len(a) && a[i].kind == tokStar:
			// a's star produces nothing, or one character b[j] produces.
			r = rec(i+1, j) ||
				(j < len(b) && b[j].kind != tokStar && compatible(a[i], b[j]) && rec(i, j+1)) ||
				(j < len(b) && b[j].kind == tokStar && rec(i, j+1))
		case j < len(b) && b[j].kind == tokStar:
			r = rec(i, j+1) || (i < len(a) && compatible(a[i], b[j]) && rec(i+1, j))
		case i < len(a) && j < len(b):
			r = compatible(a[i], b[j]) && rec(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return rec(0, 0)
}

// fits reports whether a policy Resource can name a resource of the pattern.
func (p *arnPattern) fits(resource string) bool {
	return intersects(p.toks, compileGlob(resource))
}
