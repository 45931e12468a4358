package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=0.9.0"; the
// Dockerfile passes its VERSION build argument here.
var version = ""

// buildDesc says which referralbot this is: the version given at build time
// and what the Go toolchain recorded in the binary.
type buildDesc struct {
	Version  string // -X main.version, else the module version
	Module   string // a tag, a pseudo-version from the commit, or (devel)
	Revision string // the VCS commit; "" when none was recorded
	Time     string // the commit time, RFC 3339
	Modified bool   // built from a working tree with uncommitted changes
	Go       string
}

// describeBuild reads info as runtime/debug.ReadBuildInfo returns it;
// go run, go test and builds without .git record no VCS details.
func describeBuild(version string, info *debug.BuildInfo, ok bool) buildDesc {
	d := buildDesc{Version: version, Module: "(devel)", Go: runtime.Version()}
	if ok && info != nil {
		if info.Main.Version != "" {
			d.Module = info.Main.Version
		}
		if info.GoVersion != "" {
			d.Go = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				d.Revision = s.Value
			case "vcs.time":
				d.Time = s.Value
			case "vcs.modified":
				d.Modified = s.Value == "true"
			}
		}
	}
	if d.Version == "" {
		d.Version = d.Module
	}
	return d
}

func currentBuild() buildDesc {
	info, ok := debug.ReadBuildInfo()
	return describeBuild(version, info, ok)
}

// shortRevision is the revision as logs show it, e.g. 8450e806baa8+modified.
func (d buildDesc) shortRevision() string {
	if d.Revision == "" {
		return "unknown"
	}
	r := d.Revision
	if len(r) > 12 {
		r = r[:12]
	}
	if d.Modified {
		r += "+modified"
	}
	return r
}

func (d buildDesc) write(w io.Writer) {
	fmt.Fprintf(w, "referralbot %s\n", d.Version)
	fmt.Fprintf(w, "module    %s\n", d.Module)
	switch {
	case d.Revision == "":
		fmt.Fprintln(w, "revision  unknown (none recorded: go run, go test, a build outside a git clone or in a git worktree, or -buildvcs=false)")
	case d.Modified:
		fmt.Fprintf(w, "revision  %s (modified: built with uncommitted changes)\n", d.Revision)
	default:
		fmt.Fprintf(w, "revision  %s\n", d.Revision)
	}
	if d.Time != "" {
		fmt.Fprintf(w, "time      %s\n", d.Time)
	}
	fmt.Fprintf(w, "go        %s %s/%s\n", d.Go, runtime.GOOS, runtime.GOARCH)
}
