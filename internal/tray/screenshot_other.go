//go:build !linux && !darwin && !windows

package tray

import (
	"context"
	"errors"
	"image"
)

func captureScreen(context.Context) (image.Image, error) { return nil, errors.ErrUnsupported }
