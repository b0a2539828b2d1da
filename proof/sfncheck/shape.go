package sfncheck

import (
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

var (
	timeType   = reflect.TypeOf(time.Time{})
	readerType = reflect.TypeOf((*io.Reader)(nil)).Elem()
)

// placeholder is the value given to dynamic string members.
const placeholder = "sfncheck-placeholder"

// builder turns Task parameters into an SDK input value, recording unknown
// members and kind mismatches, and the Go paths of values it could not
// check (dynamic composites, unions, documents).
type builder struct {
	jsonata  bool
	problems []problem
	dynamic  []string
}

func (b *builder) problem(kind Kind, format string, args ...any) {
	b.problems = append(b.problems, problem{kind, fmt.Sprintf(format, args...)})
}

// build returns a pointer to a new value of the input struct type filled
// from args.
func (b *builder) build(input reflect.Type, args map[string]any) reflect.Value {
	v := reflect.New(input)
	b.fillStruct(v.Elem(), args, "", "")
	return v
}

// member splits a parameter key into the member name and whether the value
// is computed at run time: a JSONPath ".$" key, or a JSONata expression.
func (b *builder) member(key string, value any) (string, bool) {
	if name, ok := strings.CutSuffix(key, ".$"); ok {
		return name, true
	}
	if s, ok := value.(string); ok && b.jsonata && strings.HasPrefix(strings.TrimSpace(s), "{%") {
		return key, true
	}
	return key, false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fillStruct sets the fields of dst (a struct value) from obj. aslPath and
// goPath locate dst for messages and for the SDK's validation errors.
func (b *builder) fillStruct(dst reflect.Value, obj map[string]any, aslPath, goPath string) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	typ := dst.Type()
	for _, key := range keys {
		name, dyn := b.member(key, obj[key])
		field, ok := lookupField(typ, name)
		if !ok {
			b.problem(UnknownMember, "%s is not a member of %s (members: %s)", join(aslPath, name), typ.Name(), strings.Join(memberNames(typ), ", "))
			continue
		}
		b.fill(dst.FieldByIndex(field.Index), obj[key], dyn, join(aslPath, name), join(goPath, field.Name))
	}
}

// lookupField finds an exported field of a struct type case-insensitively.
func lookupField(typ reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.IsExported() && !f.Anonymous && strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func memberNames(typ reflect.Type) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		if f := typ.Field(i); f.IsExported() && !f.Anonymous {
			out = append(out, f.Name)
		}
	}
	return out
}

// fill sets dst (settable) from a JSON value, or from a placeholder when
// dyn is set.
func (b *builder) fill(dst reflect.Value, v any, dyn bool, aslPath, goPath string) {
	typ := dst.Type()
	if !dyn && v == nil {
		return // JSON null: the member stays unset
	}
	switch {
	case typ == timeType:
		if !dyn {
			if _, ok := v.(string); !ok {
				if _, ok := v.(float64); !ok {
					b.problem(WrongType, "%s is %s, want a timestamp (string or epoch seconds)", aslPath, kindOf(v))
					return
				}
			}
		}
		dst.Set(reflect.ValueOf(time.Unix(1, 0).UTC()))
		return
	case typ == readerType:
		if !dyn {
			if _, ok := v.(string); !ok {
				b.problem(WrongType, "%s is %s, want a string", aslPath, kindOf(v))
				return
			}
		}
		dst.Set(reflect.ValueOf(io.Reader(strings.NewReader(""))))
		return
	}
	switch typ.Kind() {
	case reflect.Pointer:
		elem := reflect.New(typ.Elem())
		b.fill(elem.Elem(), v, dyn, aslPath, goPath)
		dst.Set(elem)
	case reflect.String:
		if dyn {
			dst.SetString(placeholder)
			return
		}
		s, ok := v.(string)
		if !ok {
			b.problem(WrongType, "%s is %s, want a string", aslPath, kindOf(v))
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		if dyn {
			dst.SetBool(true)
			return
		}
		x, ok := v.(bool)
		if !ok {
			b.problem(WrongType, "%s is %s, want a boolean", aslPath, kindOf(v))
			return
		}
		dst.SetBool(x)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if dyn {
			dst.SetInt(1)
			return
		}
		x, ok := v.(float64)
		if !ok || x != math.Trunc(x) || dst.OverflowInt(int64(x)) {
			b.problem(WrongType, "%s is %s, want an integer (%s)", aslPath, kindOf(v), typ.Kind())
			return
		}
		dst.SetInt(int64(x))
	case reflect.Float32, reflect.Float64:
		if dyn {
			dst.SetFloat(1)
			return
		}
		x, ok := v.(float64)
		if !ok {
			b.problem(WrongType, "%s is %s, want a number", aslPath, kindOf(v))
			return
		}
		dst.SetFloat(x)
	case reflect.Slice:
		b.fillSlice(dst, v, dyn, aslPath, goPath)
	case reflect.Map:
		b.fillMap(dst, v, dyn, aslPath, goPath)
	case reflect.Struct:
		if dyn {
			b.dynamic = append(b.dynamic, goPath)
			return
		}
		obj, ok := v.(map[string]any)
		if !ok {
			b.problem(WrongType, "%s is %s, want an object (%s)", aslPath, kindOf(v), typ.Name())
			return
		}
		b.fillStruct(dst, obj, aslPath, goPath)
	case reflect.Interface:
		// A union or a document: its value is accepted as is and not
		// checked further.
		b.dynamic = append(b.dynamic, goPath)
	default:
		b.problem(WrongType, "%s: member kind %s is not supported by sfncheck", aslPath, typ.Kind())
	}
}

func (b *builder) fillSlice(dst reflect.Value, v any, dyn bool, aslPath, goPath string) {
	typ := dst.Type()
	if typ.Elem().Kind() == reflect.Uint8 { // blob
		if !dyn {
			if _, ok := v.(string); !ok {
				b.problem(WrongType, "%s is %s, want a string (blob)", aslPath, kindOf(v))
				return
			}
		}
		dst.SetBytes([]byte(placeholder))
		return
	}
	if dyn {
		b.dynamic = append(b.dynamic, goPath)
		s := reflect.MakeSlice(typ, 1, 1)
		b.fill(s.Index(0), nil, true, aslPath+"[0]", goPath+"[0]")
		dst.Set(s)
		return
	}
	items, ok := v.([]any)
	if !ok {
		b.problem(WrongType, "%s is %s, want an array", aslPath, kindOf(v))
		return
	}
	s := reflect.MakeSlice(typ, len(items), len(items))
	for i, item := range items {
		b.fill(s.Index(i), item, false, fmt.Sprintf("%s[%d]", aslPath, i), fmt.Sprintf("%s[%d]", goPath, i))
	}
	dst.Set(s)
}

func (b *builder) fillMap(dst reflect.Value, v any, dyn bool, aslPath, goPath string) {
	typ := dst.Type()
	m := reflect.MakeMap(typ)
	dst.Set(m)
	if dyn {
		b.dynamic = append(b.dynamic, goPath)
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		b.problem(WrongType, "%s is %s, want an object (map)", aslPath, kindOf(v))
		return
	}
	if typ.Key().Kind() != reflect.String {
		b.problem(WrongType, "%s: map key kind %s is not supported by sfncheck", aslPath, typ.Key().Kind())
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		name, isDyn := b.member(key, obj[key])
		val := reflect.New(typ.Elem()).Elem()
		b.fill(val, obj[key], isDyn, fmt.Sprintf("%s[%q]", aslPath, name), fmt.Sprintf("%s[%q]", goPath, name))
		m.SetMapIndex(reflect.ValueOf(name).Convert(typ.Key()), val)
	}
}

// kindOf names the JSON kind of a decoded value.
func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("a string (%q)", x)
	case float64:
		return fmt.Sprintf("a number (%v)", x)
	case bool:
		return fmt.Sprintf("a boolean (%v)", x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
