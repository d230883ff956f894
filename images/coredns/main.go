// CoreDNS with only the plugins the real-node cluster's Corefile uses (harness/real-node/coredns.ts):
// CoreDNS's documented way to build a smaller binary, without its cloud-provider plugins.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order in which the plugins handle a query, as in CoreDNS's plugin.cfg.
func init() {
	dnsserver.Directives = []string{"errors", "health", "ready", "kubernetes", "cache", "loop", "loadbalance"}
}

func main() {
	coremain.Run()
}
