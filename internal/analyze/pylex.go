package analyze

import (
	"fmt"
	"strings"
)

// The Python tokenizer: enough of CPython's to find statements and their
// tokens (names, operators, strings as opaque tokens, numbers), the logical
// lines (brackets and backslashes join physical lines) and the block structure
// (INDENT and DEDENT). It reports the syntax errors CPython's tokenizer
// reports, then recovers and goes on, so that the imports of the rest of the
// file still count.

type tokKind byte

const (
	tName tokKind = iota + 1
	tNumber
	tString
	tOp
	tNewline
	tIndent
	tDedent
)

type token struct {
	kind tokKind
	text string // the source text; for strings with the prefix and quotes
	line int
}

type syntaxErr struct {
	line int
	msg  string
}

type indent struct{ col, alt int } // the column with tabs to 8 and to 1, as CPython compares them

type lexer struct {
	src      string
	pos      int
	line     int
	toks     []token
	errs     []syntaxErr
	brackets []token // the open brackets
	indents  []indent
	pending  bool // the current logical line has tokens
}

// maxFStringDepth bounds the nesting of f-string replacement fields, and
// maxIndents that of blocks (CPython's limit).
const (
	maxFStringDepth = 64
	maxIndents      = 100
)

// lex tokenizes src, appending to toks (which it may reuse).
func lex(src string, toks []token) ([]token, []syntaxErr) {
	src = strings.TrimPrefix(src, "\ufeff")
	l := &lexer{src: src, line: 1, indents: []indent{{}}, toks: toks[:0]}
	if cap(l.toks) < len(src)/4 {
		l.toks = make([]token, 0, len(src)/4) // about one token per four bytes of Python
	}
	lineStart := true
	for {
		if lineStart {
			lineStart = false
			l.indentation()
		}
		if l.pos >= len(l.src) {
			break
		}
		c := l.src[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.pos++
			}
		case c == '\\':
			l.pos++
			if !l.newline() {
				l.errorf(l.line, "unexpected character after line continuation character")
			} else if l.pos >= len(l.src) {
				l.errorf(l.line-1, "unexpected EOF while parsing")
			}
		case c == '\n' || c == '\r':
			line := l.line
			l.newline()
			if len(l.brackets) == 0 {
				l.endLine(line)
				lineStart = true
			} else if l.strayBlock() {
				b := l.brackets[0]
				l.errorf(b.line, "'%s' was never closed", b.text)
				l.brackets = l.brackets[:0]
				l.endLine(line)
				lineStart = true
			}
		case isIdentStart(c):
			start := l.pos
			for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
				l.pos++
			}
			if l.pos < len(l.src) && (l.src[l.pos] == '"' || l.src[l.pos] == '\'') && isStringPrefix(l.src[start:l.pos]) {
				l.str(start, 0)
				continue
			}
			l.emit(tName, l.src[start:l.pos], l.line)
		case isDigit(c) || c == '.' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]):
			start := l.pos
			for l.pos < len(l.src) {
				d := l.src[l.pos]
				if (d == '+' || d == '-') && (l.src[l.pos-1] == 'e' || l.src[l.pos-1] == 'E') && !strings.HasPrefix(l.src[start:], "0x") {
					l.pos++
					continue
				}
				if !isIdentChar(d) && d != '.' {
					break
				}
				l.pos++
			}
			l.emit(tNumber, l.src[start:l.pos], l.line)
		case c == '"' || c == '\'':
			l.str(l.pos, 0)
		case c == '(' || c == '[' || c == '{':
			l.emit(tOp, l.src[l.pos:l.pos+1], l.line)
			l.brackets = append(l.brackets, l.toks[len(l.toks)-1])
			l.pos++
		case c == ')' || c == ']' || c == '}':
			l.closeBracket(c)
			l.pos++
		default:
			l.op()
		}
	}
	if len(l.brackets) > 0 {
		b := l.brackets[0]
		l.errorf(b.line, "'%s' was never closed", b.text)
	}
	l.endLine(l.line)
	for len(l.indents) > 1 {
		l.indents = l.indents[:len(l.indents)-1]
		l.toks = append(l.toks, token{kind: tDedent, line: l.line})
	}
	return l.toks, l.errs
}

func (l *lexer) errorf(line int, format string, args ...any) {
	l.errs = append(l.errs, syntaxErr{line, fmt.Sprintf(format, args...)})
}

func (l *lexer) emit(kind tokKind, text string, line int) {
	l.toks = append(l.toks, token{kind: kind, text: text, line: line})
	l.pending = true
}

func (l *lexer) endLine(line int) {
	if l.pending {
		l.toks = append(l.toks, token{kind: tNewline, line: line})
		l.pending = false
	}
}

// newline consumes a line break at pos ("\n", "\r\n" or "\r"), if there is one.
func (l *lexer) newline() bool {
	if l.pos < len(l.src) && l.src[l.pos] == '\r' {
		l.pos++
		if l.pos < len(l.src) && l.src[l.pos] == '\n' {
			l.pos++
		}
	} else if l.pos < len(l.src) && l.src[l.pos] == '\n' {
		l.pos++
	} else {
		return false
	}
	l.line++
	return true
}

// indentation measures the indentation of a new logical line and emits
// INDENT and DEDENT tokens; blank and comment-only lines leave it alone.
func (l *lexer) indentation() {
	var in indent
	p := l.pos
	for ; p < len(l.src); p++ {
		switch l.src[p] {
		case ' ':
			in.col++
			in.alt++
			continue
		case '\t':
			in.col = (in.col/8 + 1) * 8
			in.alt++
			continue
		case '\f':
			in = indent{}
			continue
		}
		break
	}
	if p >= len(l.src) || l.src[p] == '#' || l.src[p] == '\n' || l.src[p] == '\r' {
		return
	}
	if p+1 < len(l.src) && l.src[p] == '\\' && (l.src[p+1] == '\n' || l.src[p+1] == '\r') {
		return // a backslash alone on a line joins the next; CPython takes the indentation from there
	}
	l.pos = p
	top := l.indents[len(l.indents)-1]
	switch {
	case in.col == top.col:
		if in.alt != top.alt {
			l.errorf(l.line, "inconsistent use of tabs and spaces in indentation")
		}
	case in.col > top.col:
		if in.alt <= top.alt {
			l.errorf(l.line, "inconsistent use of tabs and spaces in indentation")
		}
		if len(l.indents) > maxIndents {
			l.errorf(l.line, "too many levels of indentation")
			return
		}
		l.indents = append(l.indents, in)
		l.toks = append(l.toks, token{kind: tIndent, line: l.line})
	default:
		for len(l.indents) > 1 && in.col < l.indents[len(l.indents)-1].col {
			if below := l.indents[len(l.indents)-2]; below.col < in.col {
				// Between two levels: CPython stops here; read on as if the
				// line were at the inner level, where it most likely belongs.
				l.errorf(l.line, "unindent does not match any outer indentation level")
				l.indents[len(l.indents)-1] = in
				return
			}
			l.indents = l.indents[:len(l.indents)-1]
			l.toks = append(l.toks, token{kind: tDedent, line: l.line})
		}
		if top := l.indents[len(l.indents)-1]; in.alt != top.alt {
			l.errorf(l.line, "inconsistent use of tabs and spaces in indentation")
		}
	}
}

// strayBlock reports whether, inside brackets, the next line starts a new
// statement at column 0 ("def ", "class ", "import ", "from ", "@"): then a
// bracket was left open, and the tokenizer recovers there.
func (l *lexer) strayBlock() bool {
	rest := l.src[l.pos:]
	for _, kw := range []string{"def ", "class ", "import ", "from ", "async def ", "@"} {
		if strings.HasPrefix(rest, kw) {
			return true
		}
	}
	return false
}

func (l *lexer) closeBracket(c byte) {
	open := "("
	switch c {
	case ']':
		open = "["
	case '}':
		open = "{"
	}
	if len(l.brackets) == 0 {
		l.errorf(l.line, "unmatched '%c'", c)
		return
	}
	b := l.brackets[len(l.brackets)-1]
	l.brackets = l.brackets[:len(l.brackets)-1]
	if b.text != open {
		if b.line != l.line {
			l.errorf(l.line, "closing parenthesis '%c' does not match opening parenthesis '%s' on line %d", c, b.text, b.line)
		} else {
			l.errorf(l.line, "closing parenthesis '%c' does not match opening parenthesis '%s'", c, b.text)
		}
	}
	l.emit(tOp, l.src[l.pos:l.pos+1], l.line)
}

func (l *lexer) op() {
	rest := l.src[l.pos:]
	n := 0
	if len(rest) >= 2 {
		switch rest[:2] {
		case "==", "!=", "<=", ">=", "->", ":=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=":
			n = 2
		case "**", "//", "<<", ">>":
			n = 2
			if len(rest) >= 3 && rest[2] == '=' {
				n = 3
			}
		case "..":
			if len(rest) >= 3 && rest[2] == '.' {
				n = 3
			}
		}
	}
	if n == 0 && strings.IndexByte("+-*/%@&|^~<>=.,:;!", rest[0]) >= 0 {
		n = 1
	}
	if n > 0 {
		l.emit(tOp, rest[:n], l.line)
		l.pos += n
		return
	}
	if c := rest[0]; c < 0x80 {
		l.errorf(l.line, "invalid character '%c' (U+%04X)", c, c)
	} else {
		l.errorf(l.line, "invalid non-printable character")
	}
	l.pos++
}

// str scans a string literal whose prefix starts at start; pos is at its
// opening quote. depth counts the f-strings it is nested in.
func (l *lexer) str(start, depth int) {
	prefix := strings.ToLower(l.src[start:l.pos])
	q := l.src[l.pos]
	triple := strings.HasPrefix(l.src[l.pos:], strings.Repeat(string(q), 3))
	line := l.line
	if triple {
		l.pos += 3
	} else {
		l.pos++
	}
	format := strings.ContainsAny(prefix, "ft")
	if !l.body(q, triple, format, depth) {
		if triple {
			l.errorf(line, "unterminated triple-quoted string literal (detected at line %d)", l.line)
		} else {
			l.errorf(line, "unterminated string literal (detected at line %d)", l.line)
		}
	}
	l.emit(tString, l.src[start:l.pos], line)
}

// body scans a string's contents up to and including its closing quote. It
// returns false, at the end of the line (or file for a triple-quoted
// string), when the string is not terminated.
func (l *lexer) body(q byte, triple, format bool, depth int) bool {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\\':
			l.pos++
			if !l.newline() && l.pos < len(l.src) {
				l.pos++
			}
		case c == '\n' || c == '\r':
			if !triple {
				return false
			}
			l.newline()
		case c == q:
			if !triple {
				l.pos++
				return true
			}
			if strings.HasPrefix(l.src[l.pos:], strings.Repeat(string(q), 3)) {
				l.pos += 3
				return true
			}
			l.pos++
		case format && c == '{':
			if strings.HasPrefix(l.src[l.pos:], "{{") {
				l.pos += 2
				continue
			}
			if !l.field(q, triple, depth+1) {
				return false
			}
		default:
			l.pos++
		}
	}
	return false
}

// field scans an f-string's replacement field from its '{' to its '}':
// an expression (with nested brackets and strings, PEP 701 style), then an
// optional conversion and format spec, which may hold nested fields.
func (l *lexer) field(q byte, triple bool, depth int) bool {
	if depth > maxFStringDepth {
		l.errorf(l.line, "f-string: too many nested expressions")
		return false
	}
	l.pos++ // '{'
	nest, spec := 0, false
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '\n' || c == '\r' {
			if !triple {
				return false
			}
			l.newline()
			continue
		}
		if spec {
			switch c {
			case '{':
				if !l.field(q, triple, depth+1) {
					return false
				}
				continue
			case '}':
				l.pos++
				return true
			case q:
				return false // the string ends inside the field
			}
			l.pos++
			continue
		}
		switch {
		case c == '\'' || c == '"':
			start := l.pos // back over a prefix such as the f of f'...'
			for start > 0 && l.pos-start < 2 && strings.IndexByte("rRbBfFuUtT", l.src[start-1]) >= 0 {
				start--
			}
			if start > 0 && isIdentChar(l.src[start-1]) || !isStringPrefix(l.src[start:l.pos]) {
				start = l.pos
			}
			l.strIn(start, depth)
			continue
		case c == '(' || c == '[' || c == '{':
			nest++
		case c == ')' || c == ']':
			nest--
		case c == '}':
			if nest == 0 {
				l.pos++
				return true
			}
			nest--
		case c == ':' && nest == 0:
			spec = true
		case c == '\\' && l.pos+1 < len(l.src) && l.src[l.pos+1] != '\n' && l.src[l.pos+1] != '\r':
			l.pos++
		}
		l.pos++
	}
	return false
}

// strIn scans a string nested in an f-string expression, its prefix at start
// and its quote at pos, without emitting a token.
func (l *lexer) strIn(start, depth int) {
	prefix := strings.ToLower(l.src[start:l.pos])
	q := l.src[l.pos]
	triple := strings.HasPrefix(l.src[l.pos:], strings.Repeat(string(q), 3))
	if triple {
		l.pos += 3
	} else {
		l.pos++
	}
	l.body(q, triple, strings.ContainsAny(prefix, "ft"), depth)
}

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isStringPrefix(s string) bool {
	switch strings.ToLower(s) {
	case "r", "u", "f", "b", "br", "rb", "fr", "rf", "t", "tr", "rt":
		return true
	}
	return false
}

// stringValue returns the value of a plain string literal token (no f-string,
// no escapes), or false.
func stringValue(t token) (string, bool) {
	if t.kind != tString {
		return "", false
	}
	s := t.text
	i := strings.IndexAny(s, `'"`)
	if i < 0 || strings.ContainsAny(strings.ToLower(s[:i]), "fbt") {
		return "", false
	}
	s = s[i:]
	n := 1
	if len(s) >= 6 && (strings.HasPrefix(s, `"""`) || strings.HasPrefix(s, `'''`)) {
		n = 3
	}
	if len(s) < 2*n || s[len(s)-n:] != s[:n] {
		return "", false
	}
	v := s[n : len(s)-n]
	if strings.ContainsAny(v, "\\\n") {
		return "", false
	}
	return v, true
}
