// Package wmiq runs WMI queries for checks and the inventory with a
// deadline: a WMI provider can hang for minutes, and the caller's context
// decides how long it waits. Windows only; errors.ErrUnsupported elsewhere.
package wmiq
