package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// Request bodies are decoded strictly in one way (decodeStrict), and every
// way a body can be refused names the field in English and German, as
// validation does (*policy.ValidationError, answered as validationResponse):
// an unknown key lists the valid ones, a value of the wrong JSON type says
// which type the field takes. Only a body that is no JSON at all is
// refused as "body".

// decodeStrict decodes one JSON value from b into v, refusing unknown keys,
// with an error that names the field.
func decodeStrict(b io.Reader, v any) error {
	dec := json.NewDecoder(b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err, v)
	}
	return nil
}

// bodyError turns a decoding error of a body decoded into v into a field
// error.
func bodyError(err error, v any) error {
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &te) && te.Field != "":
		want := jsonKind(te.Type)
		return fieldError(te.Field, fmt.Sprintf("must be %s, not %s", want.EN, te.Value), fmt.Sprintf("muss %s sein, nicht %s", want.DE, te.Value))
	case errors.As(err, &mbe):
		return fieldError("body", fmt.Sprintf("must be at most %d bytes", mbe.Limit), fmt.Sprintf("darf höchstens %d Bytes groß sein", mbe.Limit))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		valid := strings.Join(jsonKeys(reflect.TypeOf(v)), ", ")
		return fieldError(name, "unknown field; valid: "+valid, "unbekanntes Feld; gültig: "+valid)
	}
	if errors.Is(err, io.EOF) {
		return fieldError("body", "is required: a JSON object", "ist erforderlich: ein JSON-Objekt")
	}
	return fieldError("body", "not valid JSON: "+err.Error(), "kein gültiges JSON: "+err.Error())
}

func fieldError(field, en, de string) error {
	return &policy.ValidationError{Fields: []policy.FieldError{{Field: field, Message: core.Text{EN: en, DE: de}}}}
}

// requiredField is the error of a body field that must be given.
func requiredField(field, en, de string) error {
	return fieldError(field, "is required: "+en, "ist erforderlich: "+de)
}

// jsonKind words what JSON a Go type takes.
func jsonKind(t reflect.Type) core.Text {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return core.Text{EN: "text", DE: "Text"}
	case reflect.Bool:
		return core.Text{EN: "true or false", DE: "true oder false"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return core.Text{EN: "a whole number", DE: "eine ganze Zahl"}
	case reflect.Float32, reflect.Float64:
		return core.Text{EN: "a number", DE: "eine Zahl"}
	case reflect.Slice, reflect.Array:
		return core.Text{EN: "a list", DE: "eine Liste"}
	}
	return core.Text{EN: "an object", DE: "ein Objekt"}
}

// jsonKeys lists the JSON keys of a struct type (embedded structs
// flattened, as encoding/json does), sorted.
func jsonKeys(t reflect.Type) []string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			out = append(out, jsonKeys(f.Type)...)
		case f.IsExported():
			if name == "" {
				name = f.Name
			}
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// optionalBody decodes a small JSON body into v if there is one (no
// unknown fields); an empty body leaves v as it is.
func optionalBody(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyError(err, v)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return decodeStrict(bytes.NewReader(b), v)
}
