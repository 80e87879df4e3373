package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Script parameters, as a run of the library, a task or a script check
// gives them. The field errors name "params.NAME".

func fieldError(field, en, de string) FieldError {
	return FieldError{Field: field, Message: core.Text{EN: en, DE: de}}
}

// ParamValue turns a JSON value for parameter p into the text the script
// sees in its environment: a number as written, a yes/no as true or false.
func ParamValue(p core.ScriptParam, raw json.RawMessage) (string, error) {
	switch p.Type {
	case core.ParamNumber:
		var n json.Number
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return "", errors.New("not a number")
		}
		return n.String(), nil
	case core.ParamBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", errors.New("not true or false")
		}
		return strconv.FormatBool(b), nil
	default:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errors.New("not a string")
		}
		if len(s) > protocol.MaxScriptParamValue || strings.ContainsRune(s, 0) {
			return "", fmt.Errorf("longer than %d bytes or with a NUL", protocol.MaxScriptParamValue)
		}
		if p.Type == core.ParamChoice && !slices.Contains(p.Choices, s) {
			return "", errors.New("not one of the choices")
		}
		return s, nil
	}
}

// ScriptParams checks the values given for a run against a script's
// parameters and splits them into plain ones and secrets; defaults fill
// what is not given.
func ScriptParams(sc core.Script, in map[string]json.RawMessage) (plain, secrets map[string]string, err error) {
	var fs []FieldError
	plain, secrets = map[string]string{}, map[string]string{}
	for name := range in {
		if !slices.ContainsFunc(sc.Params, func(p core.ScriptParam) bool { return p.Name == name }) {
			fs = append(fs, fieldError("params."+name, "the script has no such parameter", "das Skript hat keinen solchen Parameter"))
		}
	}
	for _, p := range sc.Params {
		raw, ok := in[p.Name]
		if !ok || string(raw) == "null" {
			raw, ok = p.Default, len(p.Default) > 0
		}
		if !ok {
			if p.Required {
				fs = append(fs, fieldError("params."+p.Name, "is required", "ist erforderlich"))
			}
			continue
		}
		v, err := ParamValue(p, raw)
		if err != nil {
			fs = append(fs, fieldError("params."+p.Name, "must be "+p.Type+": "+err.Error(), "muss "+p.Type+" sein: "+err.Error()))
			continue
		}
		if p.Type == core.ParamSecret {
			secrets[p.Name] = v
		} else {
			plain[p.Name] = v
		}
	}
	if len(fs) > 0 {
		return nil, nil, &ValidationError{Fields: fs}
	}
	return plain, secrets, nil
}

// TaskParams turns a task's or script check's parameters, given as text
// (secrets opened), into the JSON values ScriptParams takes: numbers and
// yes/no as written, everything else a string; an empty value is not
// given (the default applies). Names the script does not declare stay
// strings, for ScriptParams to refuse.
func TaskParams(sc core.Script, in map[string]string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(in))
	for name, v := range in {
		if v == "" {
			continue
		}
		i := slices.IndexFunc(sc.Params, func(p core.ScriptParam) bool { return p.Name == name })
		if i >= 0 && (sc.Params[i].Type == core.ParamNumber || sc.Params[i].Type == core.ParamBool) && json.Valid([]byte(v)) {
			out[name] = json.RawMessage(v)
			continue
		}
		b, _ := json.Marshal(v) // a string: cannot fail
		out[name] = b
	}
	return out
}
