//go:build !linux

package bot

func procStatusMB(string) float64 { return 0 }
