package checkspec

import "github.com/wacht-rmm/wacht/internal/check"

var volumes = check.Param{Name: "volumes", Type: check.List, Items: text(260), MaxLen: 100,
	Label: tx("Volumes", "Laufwerke"),
	Help:  tx("Mount points or drive letters (/, C:); empty checks every fixed volume.", "Einhängepunkte oder Laufwerksbuchstaben (/, C:); leer prüft alle festen Laufwerke.")}

// Disk declares the disk check.
var Disk = &check.Spec{
	Name:  "disk",
	Label: tx("Disk space", "Speicherplatz"),
	Help:  tx("Used space per volume in percent and, optionally, free space in GB; a volume's status is the worse of both.", "Belegter Platz je Laufwerk in Prozent und wahlweise freier Platz in GB; es zählt der schlechtere Wert."),
	Params: append(append([]check.Param{volumes}, percentPair(tx("the used space", "der belegte Platz"), 80, 90)...),
		check.Param{Name: "free_warn_gb", Type: check.Number, Unit: "GB", Min: lim(0),
			Label: tx("Warn below free", "Warnung unter frei"), Help: tx("Warn when less space is free; 0 is off.", "Warnen, wenn weniger Platz frei ist; 0 ist aus.")},
		check.Param{Name: "free_fail_gb", Type: check.Number, Unit: "GB", Min: lim(0),
			Label: tx("Fail below free", "Fehler unter frei"), Help: tx("Fail when less space is free; 0 is off.", "Fehlschlagen, wenn weniger Platz frei ist; 0 ist aus.")},
		check.Param{Name: "percent_off", Type: check.Boolean, Default: false,
			Label: tx("Free space only", "Nur freier Platz"), Help: tx("Turn the percent limits off and judge by free space alone.", "Prozentgrenzen abschalten und nur nach freiem Platz urteilen.")},
	),
	Rules: []check.Rule{
		check.Ordered("warn", "fail"),
		check.NotAbove("free_fail_gb", "free_warn_gb"),
		func(v check.Values) *check.FieldError {
			if v.Raw("percent_off") == true && v.Num("free_warn_gb") == 0 && v.Num("free_fail_gb") == 0 {
				return &check.FieldError{Field: "percent_off", Message: tx("needs free_warn_gb or free_fail_gb", "braucht free_warn_gb oder free_fail_gb")}
			}
			return nil
		},
	},
}

// Growth declares the growth check.
var Growth = &check.Spec{
	Name:  "growth",
	Label: tx("Disk growth", "Speicherwachstum"),
	Help:  tx("Growth of the used space per volume over the last 24 hours, in percent and/or GB; zero limits are off.", "Wachstum des belegten Platzes je Laufwerk in den letzten 24 Stunden, in Prozent und/oder GB; 0 ist aus."),
	Params: []check.Param{
		volumes,
		{Name: "warn_percent", Type: check.Number, Unit: "%", Default: 10, Min: lim(0),
			Label: tx("Warning at growth", "Warnung ab Wachstum"), Help: tx("Percent of the used space at the start of the window.", "Prozent des belegten Platzes zu Beginn des Fensters.")},
		{Name: "fail_percent", Type: check.Number, Unit: "%", Default: 25, Min: lim(0),
			Label: tx("Failure at growth", "Fehler ab Wachstum"), Help: tx("Percent of the used space at the start of the window.", "Prozent des belegten Platzes zu Beginn des Fensters.")},
		{Name: "warn_gb", Type: check.Number, Unit: "GB", Min: lim(0),
			Label: tx("Warning at growth", "Warnung ab Wachstum"), Help: tx("Growth in GB; 0 is off.", "Wachstum in GB; 0 ist aus.")},
		{Name: "fail_gb", Type: check.Number, Unit: "GB", Min: lim(0),
			Label: tx("Failure at growth", "Fehler ab Wachstum"), Help: tx("Growth in GB; 0 is off.", "Wachstum in GB; 0 ist aus.")},
	},
	Rules: []check.Rule{check.NotAbove("warn_percent", "fail_percent"), check.NotAbove("warn_gb", "fail_gb")},
}
