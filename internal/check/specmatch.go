package check

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// matched caches StructMismatch per declaration and struct type.
var matched sync.Map // matchKey → []string

type matchKey struct {
	spec *Spec
	typ  reflect.Type
}

// StructMismatch compares a collector's parameter struct (v, a pointer to
// it) with the declaration key for key, recursing into objects and lists
// of objects, and returns every difference: a JSON key of the struct that
// is not declared, a declared parameter without a struct field, or a
// field whose Go type cannot hold the declared type.
func StructMismatch(s *Spec, v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	k := matchKey{s, t}
	if d, ok := matched.Load(k); ok {
		return d.([]string)
	}
	var diffs []string
	if t == nil || t.Kind() != reflect.Struct {
		diffs = []string{"the parameters are not decoded into a struct"}
	} else {
		matchStruct(&diffs, "", s.Params, t)
	}
	matched.Store(k, diffs)
	return diffs
}

// jsonFields returns the struct's JSON keys with their Go types, embedded
// structs flattened as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func matchStruct(diffs *[]string, at string, params []Param, t reflect.Type) {
	fields := jsonFields(t)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		i := slices.IndexFunc(params, func(p Param) bool { return p.Name == k })
		if i < 0 {
			*diffs = append(*diffs, join(at, k)+" is in the struct but not declared")
			continue
		}
		matchType(diffs, join(at, k), params[i], fields[k])
	}
	for _, p := range params {
		if _, ok := fields[p.Name]; !ok {
			*diffs = append(*diffs, join(at, p.Name)+" is declared but not in the struct")
		}
	}
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

func matchType(diffs *[]string, at string, p Param, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	ok := true
	switch p.Type {
	case Text, Choice:
		ok = t.Kind() == reflect.String
	case Number:
		ok = t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32
	case Integer:
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		default:
			ok = false
		}
	case Boolean:
		ok = t.Kind() == reflect.Bool
	case Duration:
		// A string field would refuse the number of seconds the
		// declaration accepts: use check.Span.
		ok = reflect.PointerTo(t).Implements(unmarshaler)
	case List:
		ok = t.Kind() == reflect.Slice
		if ok {
			matchType(diffs, at+"[]", *p.Items, t.Elem())
		}
	case Map:
		ok = t.Kind() == reflect.Map && t.Key().Kind() == reflect.String
		if ok {
			matchType(diffs, at+".*", *p.Items, t.Elem())
		}
	case Object:
		ok = t.Kind() == reflect.Struct
		if ok {
			matchStruct(diffs, at, p.Fields, t)
		}
	}
	if !ok {
		*diffs = append(*diffs, at+" is declared "+string(p.Type)+" but the struct has "+t.String())
	}
}
