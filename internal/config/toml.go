package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decode reads the TOML subset an agent config needs into dst (a pointer
// to a struct whose fields carry `toml` tags; an untagged embedded struct's
// keys are its parent's): comments, bare keys (dotted: a.b = 1), [table]
// and [[array of tables]] headers, and values that are basic or literal
// one-line strings, decimal integers (with _ between digits), floats,
// booleans and arrays of those (over several lines if need be). Anything
// else (a key the struct does not name, a key given twice, inline tables,
// multi-line strings, dates) is a *tomlError naming the line. A general TOML library is a quarter of the
// agent's size on MIPS: this reader is why the agent fits in 8 MiB.
func decode(data []byte, dst any) error {
	d := &tomlDecoder{src: strings.TrimPrefix(string(data), "\ufeff"), line: 1, seen: map[string]bool{}}
	root := reflect.ValueOf(dst).Elem()
	table := root
	prefix, scope := "", ""
	for {
		d.skipBlank()
		if d.eof() {
			return nil
		}
		if d.peek() != '[' {
			if err := d.keyValue(table, prefix, scope); err != nil {
				return err
			}
			continue
		}
		path, array, err := d.tableHeader()
		if err != nil {
			return err
		}
		if array {
			table, scope, err = d.arrayElement(root, path)
		} else {
			table, scope, err = d.table(root, path)
		}
		if err != nil {
			return err
		}
		prefix = path + "."
	}
}

// table starts the [path] table.
func (d *tomlDecoder) table(root reflect.Value, path string) (reflect.Value, string, error) {
	if d.seen[path] {
		return reflect.Value{}, "", d.errorf("table [%s] defined twice", path)
	}
	d.seen[path] = true
	t, err := d.field(root, strings.Split(path, "."), true)
	return t, path + ".", err
}

// arrayElement starts a new element of the [[path]] array of tables: a
// slice of structs. Keys are unique within an element (its scope).
func (d *tomlDecoder) arrayElement(root reflect.Value, path string) (reflect.Value, string, error) {
	f, err := d.field(root, strings.Split(path, "."), false)
	if err != nil {
		return reflect.Value{}, "", err
	}
	if f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Struct || d.seen[path] {
		return reflect.Value{}, "", d.errorf("[[%s]]: %s is not an array of tables", path, path)
	}
	f.Set(reflect.Append(f, reflect.New(f.Type().Elem()).Elem()))
	return f.Index(f.Len() - 1), fmt.Sprintf("%s[%d].", path, f.Len()-1), nil
}

// tomlError is a syntax or type error at a line; unknown is set for a key
// the struct does not name.
type tomlError struct {
	Line    int
	Key     string // the full dotted key, for an unknown or mistyped key
	Unknown bool
	Msg     string
}

func (e *tomlError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("line %d: unknown key %q", e.Line, e.Key)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

type tomlDecoder struct {
	src  string
	pos  int
	line int
	seen map[string]bool // keys and tables set, by full dotted path
}

func (d *tomlDecoder) eof() bool  { return d.pos >= len(d.src) }
func (d *tomlDecoder) peek() byte { return d.src[d.pos] }

func (d *tomlDecoder) errorf(format string, args ...any) error {
	return &tomlError{Line: d.line, Msg: fmt.Sprintf(format, args...)}
}

// skipSpace skips spaces and tabs.
func (d *tomlDecoder) skipSpace() {
	for !d.eof() && (d.peek() == ' ' || d.peek() == '\t') {
		d.pos++
	}
}

// skipBlank skips whitespace, newlines and comments.
func (d *tomlDecoder) skipBlank() {
	for !d.eof() {
		switch c := d.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			d.pos++
		case c == '\n':
			d.pos++
			d.line++
		case c == '#':
			for !d.eof() && d.peek() != '\n' {
				d.pos++
			}
		default:
			return
		}
	}
}

// endOfLine accepts spaces, an optional comment and the end of the line.
func (d *tomlDecoder) endOfLine() error {
	d.skipSpace()
	if !d.eof() && d.peek() == '#' {
		for !d.eof() && d.peek() != '\n' {
			d.pos++
		}
	}
	if !d.eof() && d.peek() == '\r' {
		d.pos++
	}
	if d.eof() {
		return nil
	}
	if d.peek() != '\n' {
		return d.errorf("unexpected %q after the value", d.rest())
	}
	return nil
}

// rest is the remainder of the current line, for errors.
func (d *tomlDecoder) rest() string {
	s := d.src[d.pos:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// key reads a dotted bare key.
func (d *tomlDecoder) key() (string, error) {
	var parts []string
	for {
		d.skipSpace()
		start := d.pos
		for !d.eof() && isBare(d.peek()) {
			d.pos++
		}
		if d.pos == start {
			if !d.eof() && (d.peek() == '"' || d.peek() == '\'') {
				return "", d.errorf("quoted keys are not supported: write the key bare")
			}
			return "", d.errorf("expected a key, found %q", d.rest())
		}
		parts = append(parts, d.src[start:d.pos])
		d.skipSpace()
		if d.eof() || d.peek() != '.' {
			return strings.Join(parts, "."), nil
		}
		d.pos++
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// tableHeader reads "[a.b]" or "[[a.b]]" (array says which) and the end of
// its line.
func (d *tomlDecoder) tableHeader() (path string, array bool, err error) {
	d.pos++ // [
	if array = !d.eof() && d.peek() == '['; array {
		d.pos++
	}
	if path, err = d.key(); err != nil {
		return "", false, err
	}
	closing := map[bool]string{false: "]", true: "]]"}[array]
	if !strings.HasPrefix(d.src[d.pos:], closing) {
		return "", false, d.errorf("table header: expected %q, found %q", closing, d.rest())
	}
	d.pos += len(closing)
	return path, array, d.endOfLine()
}

// keyValue reads "key = value" into table; prefix names the table in
// messages, scope tells elements of an array of tables apart.
func (d *tomlDecoder) keyValue(table reflect.Value, prefix, scope string) error {
	k, err := d.key()
	if err != nil {
		return err
	}
	full := prefix + k
	if d.eof() || d.peek() != '=' {
		return d.errorf("expected '=' after %q", k)
	}
	d.pos++
	d.skipSpace()
	if d.seen[scope+k] {
		return &tomlError{Line: d.line, Key: full, Msg: fmt.Sprintf("key %q given twice", full)}
	}
	d.seen[scope+k] = true
	line := d.line
	f, err := d.field(table, strings.Split(k, "."), false)
	if err != nil {
		if te, ok := err.(*tomlError); ok && te.Unknown {
			te.Key = full
		}
		return err
	}
	if err := d.value(f); err != nil {
		if te, ok := err.(*tomlError); ok && te.Key == "" {
			te.Key, te.Line, te.Msg = full, line, full+": "+te.Msg
		}
		return err
	}
	return d.endOfLine()
}

// field finds the struct field at path under v (allocating pointers on
// the way); a table must be a struct.
func (d *tomlDecoder) field(v reflect.Value, path []string, table bool) (reflect.Value, error) {
	for i, name := range path {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		f, ok := lookup(v, name)
		if !ok || (i < len(path)-1 || table) && !isTable(f.Type()) {
			key := strings.Join(path[:i+1], ".")
			return reflect.Value{}, &tomlError{Line: d.line, Key: key, Unknown: true, Msg: fmt.Sprintf("unknown key %q", key)}
		}
		v = f
	}
	for table && v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return v, nil
}

func isTable(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct
}

// lookup finds the field of struct v tagged name, also in untagged
// embedded structs.
func lookup(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("toml")
		if tag == "" && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			if f, ok := lookup(v.Field(i), name); ok {
				return f, true
			}
			continue
		}
		if tag == name && sf.IsExported() {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// value reads one value into f.
func (d *tomlDecoder) value(f reflect.Value) error {
	if d.eof() || d.peek() == '\n' || d.peek() == '#' {
		return d.errorf("missing value")
	}
	switch f.Kind() {
	case reflect.Pointer:
		p := reflect.New(f.Type().Elem())
		if err := d.value(p.Elem()); err != nil {
			return err
		}
		f.Set(p)
		return nil
	case reflect.Slice:
		return d.array(f)
	case reflect.String:
		s, err := d.str()
		if err != nil {
			return err
		}
		f.SetString(s)
		return nil
	case reflect.Bool:
		return d.boolean(f)
	case reflect.Int, reflect.Int64:
		return d.integer(f)
	case reflect.Float64:
		return d.float(f)
	}
	return d.errorf("a value of type %s is not supported", f.Type())
}

// array reads "[v, v, ...]", over lines, into slice f.
func (d *tomlDecoder) array(f reflect.Value) error {
	if d.peek() != '[' {
		return d.errorf("want an array, found %q", d.rest())
	}
	d.pos++
	out := reflect.MakeSlice(f.Type(), 0, 4)
	for {
		d.skipBlank()
		if d.eof() {
			return d.errorf("unterminated array")
		}
		if d.peek() == ']' {
			d.pos++
			f.Set(out)
			return nil
		}
		e := reflect.New(f.Type().Elem()).Elem()
		if err := d.value(e); err != nil {
			return err
		}
		out = reflect.Append(out, e)
		d.skipBlank()
		if !d.eof() && d.peek() == ',' {
			d.pos++
		} else if d.eof() || d.peek() != ']' {
			return d.errorf("array: expected ',' or ']', found %q", d.rest())
		}
	}
}

// str reads a one-line basic ("...") or literal ('...') string.
func (d *tomlDecoder) str() (string, error) {
	q := d.peek()
	if q != '"' && q != '\'' {
		return "", d.errorf("want a string in quotes, found %q", d.rest())
	}
	if strings.HasPrefix(d.src[d.pos:], strings.Repeat(string(q), 3)) {
		return "", d.errorf("multi-line strings are not supported")
	}
	d.pos++
	var b strings.Builder
	for !d.eof() {
		c := d.peek()
		switch {
		case c == q:
			d.pos++
			return b.String(), nil
		case c == '\n':
			return "", d.errorf("unterminated string")
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", d.errorf("control character %q in a string", c)
		case c == '\\' && q == '"':
			if err := d.escape(&b); err != nil {
				return "", err
			}
			continue
		}
		b.WriteByte(c)
		d.pos++
	}
	return "", d.errorf("unterminated string")
}

// escape reads one escape sequence of a basic string.
func (d *tomlDecoder) escape(b *strings.Builder) error {
	d.pos++ // backslash
	if d.eof() {
		return d.errorf("unterminated string")
	}
	c := d.peek()
	d.pos++
	if r, ok := map[byte]byte{'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', '"': '"', '\\': '\\', 'e': 0x1b}[c]; ok {
		b.WriteByte(r)
		return nil
	}
	n := map[byte]int{'u': 4, 'U': 8}[c]
	if n == 0 || d.pos+n > len(d.src) {
		return d.errorf("invalid escape \\%c", c)
	}
	v, err := strconv.ParseUint(d.src[d.pos:d.pos+n], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return d.errorf("invalid escape \\%c%s", c, d.src[d.pos:d.pos+n])
	}
	d.pos += n
	b.WriteRune(rune(v))
	return nil
}

// token reads the bare characters of a number or boolean.
func (d *tomlDecoder) token() string {
	start := d.pos
	for !d.eof() && (isBare(d.peek()) || strings.IndexByte("+.:", d.peek()) >= 0) {
		d.pos++
	}
	return d.src[start:d.pos]
}

func (d *tomlDecoder) boolean(f reflect.Value) error {
	switch t := d.token(); t {
	case "true", "false":
		f.SetBool(t == "true")
		return nil
	default:
		return d.errorf("want true or false, found %q", t+d.rest())
	}
}

// integer reads a decimal integer: an optional sign, digits, and single
// underscores between digits; no leading zero.
func (d *tomlDecoder) integer(f reflect.Value) error {
	t := d.token()
	digits := strings.TrimLeft(t, "+-")
	ok := len(t)-len(digits) <= 1 && digits != "" && !strings.HasPrefix(digits, "_") && !strings.HasSuffix(digits, "_") &&
		!strings.Contains(digits, "__") && (digits == "0" || digits[0] != '0')
	n, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
	if !ok || err != nil || f.OverflowInt(n) {
		return d.errorf("want a decimal integer, found %q", t+d.rest())
	}
	f.SetInt(n)
	return nil
}

// float reads a TOML float (or an integer) into f: an optional sign, an
// integer part as for integers, an optional fraction and exponent, or
// inf and nan.
func (d *tomlDecoder) float(f reflect.Value) error {
	t := d.token()
	v, ok := parseFloat(t)
	if !ok {
		return d.errorf("want a number, found %q", t+d.rest())
	}
	f.SetFloat(v)
	return nil
}

func parseFloat(t string) (float64, bool) {
	body := strings.TrimLeft(t, "+-")
	if len(t)-len(body) > 1 || body == "" {
		return 0, false
	}
	switch body {
	case "inf", "nan":
		v, err := strconv.ParseFloat(t, 64)
		return v, err == nil
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(body), "e")
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if hasExp && !digits(strings.TrimLeft(exp, "+-"), true) || len(exp)-len(strings.TrimLeft(exp, "+-")) > 1 ||
		hasFrac && !digits(frac, true) || !digits(intPart, false) {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	return v, err == nil
}

// digits reports whether s is decimal digits with single underscores
// between them; leadingZero allows "007" (fractions, exponents).
func digits(s string, leadingZero bool) bool {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") || !leadingZero && len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if (s[i] < '0' || s[i] > '9') && s[i] != '_' {
			return false
		}
	}
	return true
}
