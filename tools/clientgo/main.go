// Command clientgo runs client-go scenarios against an API server and reports each check as a
// JSON line, so that Capstan's Rust tests can hold Capstan to what client-go's typed, dynamic,
// metadata and discovery clients, informers, retry helpers and leader election expect of
// kube-apiserver. Every
// scenario also passes against a real kube-apiserver (except where it names capstan.dev), which is
// how the checks themselves were validated.
//
//	clientgo --kubeconfig=K --namespace=N <scenario>
//
// Lines: {"check":"pods/bind","ok":true} or {"check":"...","ok":false,"detail":"..."}; the last
// line is {"done":true,"failed":N}. The exit status is 1 when a check failed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// probe collects the outcome of one scenario's checks.
type probe struct {
	ctx       context.Context
	config    *rest.Config
	namespace string
	mu        sync.Mutex
	failed    int
}

// scenarios maps a name on the command line to what it runs.
var scenarios = map[string]func(*probe){
	"writes":         writes,
	"conflicts":      conflicts,
	"dynamic":        dynamicClients,
	"discovery":      discoveryClients,
	"selectors":      selectorInformers,
	"relist":         relistAfterExpiry,
	"namespace":      namespaceDeletion,
	"bookmarks":      bookmarkProgression,
	"generation":     generationContract,
	"consistency":    watchListConsistency,
	"leaderelection": leaderElection,
	"events":         eventsRecorder,
}

func (p *probe) emit(fields map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line, _ := json.Marshal(fields)
	fmt.Println(string(line))
}

// ok records a passed check.
func (p *probe) ok(name string) { p.emit(map[string]any{"check": name, "ok": true}) }

// fail records a failed check and why.
func (p *probe) fail(name string, format string, args ...any) {
	p.mu.Lock()
	p.failed++
	p.mu.Unlock()
	p.emit(map[string]any{"check": name, "ok": false, "detail": fmt.Sprintf(format, args...)})
}

// expect records `name` as passed when cond holds, failed with the detail otherwise.
func (p *probe) expect(name string, cond bool, format string, args ...any) bool {
	if cond {
		p.ok(name)
	} else {
		p.fail(name, format, args...)
	}
	return cond
}

// noErr records `name` as passed when err is nil.
func (p *probe) noErr(name string, err error) bool {
	if err != nil {
		p.fail(name, "%v", err)
		return false
	}
	p.ok(name)
	return true
}

// note reports something that is neither pass nor fail (what a server answered).
func (p *probe) note(fields map[string]any) {
	fields["note"] = true
	p.emit(fields)
}

// eventually polls cond every 100ms until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func main() {
	klog.InitFlags(flag.CommandLine)
	kubeconfig := flag.String("kubeconfig", "", "path of the kubeconfig to connect with")
	namespace := flag.String("namespace", "clientgo", "namespace the scenario creates and works in")
	timeout := flag.Duration("timeout", 3*time.Minute, "how long the scenario may take")
	flag.Parse()
	if flag.NArg() != 1 || scenarios[flag.Arg(0)] == nil {
		names := make([]string, 0, len(scenarios))
		for n := range scenarios {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: clientgo --kubeconfig=K [--namespace=N] <%s>\n", strings.Join(names, "|"))
		os.Exit(2)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig:", err)
		os.Exit(2)
	}
	config.QPS = 200
	config.Burst = 400
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	p := &probe{ctx: ctx, config: config, namespace: *namespace}
	scenarios[flag.Arg(0)](p)
	if ctx.Err() != nil {
		p.fail("scenario", "ran out of time: %v", ctx.Err())
	}
	p.emit(map[string]any{"done": true, "failed": p.failed})
	if p.failed > 0 {
		os.Exit(1)
	}
}
