// Command gitops-health prints how GitOps tools judge a Kubernetes object's health, so the
// integration tests can assert it on real objects from the control plane:
//
//	gitops-health kstatus < object.json        # kstatus's verdict (Flux, kpt, cli-utils)
//	gitops-health lua HEALTH.lua < object.json # an Argo CD Lua health check's verdict
//
// Each reads one object as JSON on stdin and prints {"status": ..., "message": ...} on stdout.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	k8sjson "k8s.io/apimachinery/pkg/util/json"
)

// verdict is what both commands print.
type verdict struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gitops-health:", err)
		os.Exit(1)
	}
}

func run(args []string, in io.Reader, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: gitops-health kstatus | gitops-health lua SCRIPT < object.json")
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	// apimachinery's decoder keeps integers int64, as unstructured accessors expect.
	var object map[string]any
	if err := k8sjson.Unmarshal(data, &object); err != nil {
		return fmt.Errorf("reading the object from stdin: %w", err)
	}
	var v verdict
	switch {
	case args[0] == "kstatus" && len(args) == 1:
		v, err = kstatusVerdict(object)
	case args[0] == "lua" && len(args) == 2:
		var script []byte
		if script, err = os.ReadFile(args[1]); err == nil {
			v, err = luaHealth(object, string(script))
		}
	default:
		return fmt.Errorf("unknown command %q", args)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(v)
}
