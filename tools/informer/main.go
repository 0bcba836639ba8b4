// Command informer runs a client-go shared informer on pods against an API server and reports
// everything it sees as JSON lines on stdout, so that Capstan's Rust tests can check a real
// client-go informer's behaviour (watch-list initial sync, event order, resync after a restart).
//
// Lines (one JSON object each, field "kind" says which):
//
//	{"kind":"start","watchListClient":true,"mode":"typed"}
//	{"kind":"request","method":"GET","path":"/api/v1/namespaces/default/pods","query":"...","accept":"...","status":200}
//	{"kind":"event","type":"add","key":"default/p1","resourceVersion":"7","initial":true}
//	{"kind":"event","type":"update","key":"default/p1","oldResourceVersion":"7","resourceVersion":"9"}
//	{"kind":"event","type":"delete","key":"default/p1","resourceVersion":"9"}
//	{"kind":"synced","lastSyncResourceVersion":"9"}
//	{"kind":"watch-error","error":"..."}
//	{"kind":"store","keys":["default/p2"],"lastSyncResourceVersion":"12"}   (after "dump" on stdin)
//
// The program stops when stdin closes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

var out = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

// emit writes one JSON line; lines from different goroutines never interleave.
func emit(fields map[string]any) {
	out.Lock()
	defer out.Unlock()
	if err := out.enc.Encode(fields); err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
	}
}

// loggingTransport reports every request the informer sends, with the status it got.
type loggingTransport struct{ next http.RoundTripper }

func (t loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	line := map[string]any{
		"kind":   "request",
		"method": req.Method,
		"path":   req.URL.Path,
		"query":  req.URL.RawQuery,
		"accept": req.Header.Get("Accept"),
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		line["error"] = err.Error()
	} else {
		line["status"] = resp.StatusCode
		line["contentType"] = resp.Header.Get("Content-Type")
	}
	emit(line)
	return resp, err
}

func describe(obj any) (string, string) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	key, _ := cache.MetaNamespaceKeyFunc(obj)
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return key, ""
	}
	return key, accessor.GetResourceVersion()
}

func main() {
	klog.InitFlags(flag.CommandLine)
	kubeconfig := flag.String("kubeconfig", "", "path of the kubeconfig to connect with")
	namespace := flag.String("namespace", "", "namespace to watch (all when empty)")
	mode := flag.String("mode", "typed", "typed (a clientset informer) or metadata (a metadata informer)")
	flag.Parse()

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig:", err)
		os.Exit(2)
	}
	config.Wrap(func(rt http.RoundTripper) http.RoundTripper { return loggingTransport{rt} })

	emit(map[string]any{
		"kind":            "start",
		"mode":            *mode,
		"watchListClient": clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient),
	})

	var informer cache.SharedIndexInformer
	var start func(stop <-chan struct{})
	switch *mode {
	case "typed":
		client := kubernetes.NewForConfigOrDie(config)
		factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(*namespace))
		informer = factory.Core().V1().Pods().Informer()
		start = factory.Start
	case "metadata":
		client := metadata.NewForConfigOrDie(config)
		factory := metadatainformer.NewFilteredSharedInformerFactory(client, 0, *namespace, nil)
		informer = factory.ForResource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Informer()
		start = factory.Start
	default:
		fmt.Fprintln(os.Stderr, "unknown mode:", *mode)
		os.Exit(2)
	}

	_ = informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		emit(map[string]any{"kind": "watch-error", "error": err.Error()})
	})
	_, err = informer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			key, rv := describe(obj)
			emit(map[string]any{"kind": "event", "type": "add", "key": key, "resourceVersion": rv, "initial": initial})
		},
		UpdateFunc: func(old, obj any) {
			key, rv := describe(obj)
			_, oldRV := describe(old)
			emit(map[string]any{"kind": "event", "type": "update", "key": key, "resourceVersion": rv, "oldResourceVersion": oldRV})
		},
		DeleteFunc: func(obj any) {
			key, rv := describe(obj)
			emit(map[string]any{"kind": "event", "type": "delete", "key": key, "resourceVersion": rv})
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(2)
	}

	stop := make(chan struct{})
	start(stop)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
			emit(map[string]any{"kind": "sync-failed"})
			return
		}
		emit(map[string]any{"kind": "synced", "lastSyncResourceVersion": informer.LastSyncResourceVersion()})
	}()

	// "dump" prints the informer's store; EOF stops the program.
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		if lines.Text() == "dump" {
			keys := informer.GetStore().ListKeys()
			sort.Strings(keys)
			emit(map[string]any{"kind": "store", "keys": keys, "lastSyncResourceVersion": informer.LastSyncResourceVersion()})
		}
	}
	close(stop)
}
