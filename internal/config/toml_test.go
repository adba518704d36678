package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// everyKind is a config with every kind of value the reader takes.
const everyKind = `# a comment
origin = 'http://127.0.0.1/o/' # a literal string, then a comment
target = "app\tx\u00e9\U0001F600\\"
state  = "/var/lib/ferry"
root_keys = [
  "a.pub",   # one
  'b.pub',
]
allow = []
http_retries = +1_000
backoff_sec = 0
update_window_start_hour = 22
led = ""
github.owner = "o"

[github]
repo = "r"
allow_unsigned = true
max_tree_kb = -5
`

func TestDecodeEveryKind(t *testing.T) {
	t.Parallel()
	var got, want Config
	if err := decode([]byte(everyKind), &got); err != nil {
		t.Fatal(err)
	}
	// go-toml refuses a table defined after a dotted key into it: compare
	// without that line.
	if err := toml.Unmarshal([]byte(strings.Replace(everyKind, `github.owner = "o"`, "", 1)), &want); err != nil {
		t.Fatal(err)
	}
	want.GitHub.Owner = "o"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode:\n%+v\ngo-toml:\n%+v", got, want)
	}
	if *got.UpdateWindowStartHour != 22 || got.Target != "app\txé😀\\" || got.HTTPRetries != 1000 || len(got.RootKeys) != 2 || got.GitHub.MaxTreeKB != -5 {
		t.Fatalf("values: %+v", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ text, msg string }{
		{"origin = \"a\"\norigin = \"b\"\n", `line 2: key "origin" given twice`},
		{"[github]\nowner = \"a\"\n[github]\n", "line 3: table [github] defined twice"},
		{"nope = 1\n", `unknown key "nope"`},
		{"[nope]\n", `unknown key "nope"`},
		{"origin.x = 1\n", `unknown key "origin.x"`},
		{"[origin]\n", `unknown key "origin"`},
		{"origin = \"\"\"x\"\"\"\n", "multi-line strings are not supported"},
		{"github = { owner = \"a\" }\n", "line 1"},
		{"http_retries = 1.5\n", "want a decimal integer"},
		{"http_retries = 0x10\n", "want a decimal integer"},
		{"http_retries = 012\n", "want a decimal integer"},
		{"http_retries = 1__0\n", "want a decimal integer"},
		{"http_retries = 99999999999999999999\n", "want a decimal integer"},
		{"origin = \"a\" b\n", "after the value"},
		{"origin = \"a\n", "unterminated string"},
		{"origin = \"\\q\"\n", `invalid escape \q`},
		{"origin = \"\\uD800\"\n", "invalid escape"},
		{"origin =\n", "missing value"},
		{"root_keys = [\"a\" \"b\"]\n", "expected ',' or ']'"},
		{"root_keys = [\"a\",\n", "unterminated array"},
		{"\"origin\" = \"a\"\n", "quoted keys are not supported"},
		{"[[github]]\n", "github is not an array of tables"},
		{"origin \"a\"\n", "expected '='"},
		{"[github\n", `expected "]"`},
		{"github.allow_unsigned = yes\n", "want true or false"},
		{"origin = \"a\x01\"\n", "control character"},
		{"\n\nhttp_retries = \"3\"\n", "line 3: http_retries: want a decimal integer"},
	} {
		var c Config
		err := decode([]byte(tc.text), &c)
		var te *tomlError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: err = %v, want a *tomlError saying %q", tc.text, err, tc.msg)
		}
	}
}

// FuzzDecodeLikeTOML: on every input that both this reader and go-toml
// (a full TOML library, strict about unknown keys) accept, they decode the
// same config.
func FuzzDecodeLikeTOML(f *testing.F) {
	f.Add([]byte(everyKind))
	f.Add([]byte(full))
	f.Add([]byte("[github]\nowner=\"a\"\nrepo=\"b\"\nchannel=\"developer\"\nallow_unsigned=true\n"))
	f.Add([]byte("allow = [ 'a' , \"b\\n\" ]\r\nstall_sec=-0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want Config
		err := decode(data, &got)
		if err != nil {
			var te *tomlError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *tomlError", err)
			}
			return
		}
		if toml.NewDecoder(strings.NewReader(string(data))).DisallowUnknownFields().Decode(&want) != nil {
			return // TOML the reader takes more liberally (a table after a dotted key into it)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("input %q\ndecode:  %+v\ngo-toml: %+v", data, got, want)
		}
	})
}

// shapes has the kinds of field the agent's config has or may grow: floats
// (plain and optional), arrays of tables, an embedded struct, a table.
type shapes struct {
	Name  string   `toml:"name"`
	Cost  float64  `toml:"cost"`
	Max   *float64 `toml:"max"`
	Items []item   `toml:"item"`
	Sub   *item    `toml:"sub"`
	embedded
}

type item struct {
	Name  string   `toml:"name"`
	Cost  float64  `toml:"cost"`
	Wait  *int     `toml:"wait"`
	Kinds []string `toml:"kinds"`
}

type embedded struct {
	Budget *float64 `toml:"budget"`
}

const shapesText = `name = "x"
cost = 0.25
max = 1e3
budget = 7   # an integer where a float is expected

[sub]
name = "s"

[[item]]
name = "wifi"
cost = 0

[[item]]
name = "cell"
cost = 1_000.5e-1
wait = 30
kinds = ["a", 'b']
`

func TestDecodeShapes(t *testing.T) {
	t.Parallel()
	var got, want shapes
	if err := decode([]byte(shapesText), &got); err != nil {
		t.Fatal(err)
	}
	if err := toml.Unmarshal([]byte(shapesText), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode:\n%+v\ngo-toml:\n%+v", got, want)
	}
	if len(got.Items) != 2 || got.Items[1].Cost != 100.05 || *got.Items[1].Wait != 30 || *got.Budget != 7 || *got.Max != 1000 {
		t.Fatalf("values: %+v", got)
	}
	for _, tc := range []struct{ text, msg string }{
		{"[[item]]\nname = \"a\"\nname = \"b\"\n", `key "item.name" given twice`},
		{"[[item]]\nnme = \"a\"\n", `unknown key "item.nme"`},
		{"[[sub]]\n", "sub is not an array of tables"},
		{"[item]\n", `unknown key "item"`},
		{"[[item]\n", `expected "]]"`},
		{"cost = 1.\n", "want a number"},
		{"cost = .5\n", "want a number"},
		{"cost = 01.5\n", "want a number"},
		{"cost = 1e\n", "want a number"},
		{"cost = 1_.5\n", "want a number"},
		{"cost = infinity\n", "want a number"},
		{"cost = 0x10\n", "want a number"},
	} {
		var c shapes
		if err := decode([]byte(tc.text), &c); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: err = %v, want one saying %q", tc.text, err, tc.msg)
		}
	}
	var c shapes
	if err := decode([]byte("[[item]]\nname = \"a\"\n[[item]]\nname = \"a\"\n"), &c); err != nil || len(c.Items) != 2 {
		t.Errorf("the same key in two elements: %+v, %v", c.Items, err)
	}
}

// FuzzDecodeShapesLikeTOML is FuzzDecodeLikeTOML for shapes.
func FuzzDecodeShapesLikeTOML(f *testing.F) {
	f.Add([]byte(shapesText))
	f.Add([]byte("cost = -inf\nmax = +1.5E+3\n[[item]]\ncost = 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want shapes
		if decode(data, &got) != nil {
			return
		}
		if toml.NewDecoder(strings.NewReader(string(data))).DisallowUnknownFields().Decode(&want) != nil {
			return
		}
		if !reflect.DeepEqual(got, want) && !nanEqual(got, want) {
			t.Fatalf("input %q\ndecode:  %+v\ngo-toml: %+v", data, got, want)
		}
	})
}

// nanEqual: DeepEqual fails on NaN; compare the printed forms instead.
func nanEqual(a, b shapes) bool {
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}
