package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// recorder keeps what an informer's handlers saw.
type recorder struct {
	mu     sync.Mutex
	events []string // "add key", "update key", "delete key"
}

func (r *recorder) handler() cache.ResourceEventHandler {
	key := func(obj any) string {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			return t.Key
		}
		k, _ := cache.MetaNamespaceKeyFunc(obj)
		return k
	}
	rec := func(s string) {
		r.mu.Lock()
		r.events = append(r.events, s)
		r.mu.Unlock()
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { rec("add " + key(obj)) },
		UpdateFunc: func(_, obj any) { rec("update " + key(obj)) },
		DeleteFunc: func(obj any) { rec("delete " + key(obj)) },
	}
}

func (r *recorder) seen(event string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return contains(r.events, event)
}

func (r *recorder) count(event string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e == event {
			n++
		}
	}
	return n
}

func storeKeys(inf cache.SharedIndexInformer) []string {
	keys := inf.GetStore().ListKeys()
	sort.Strings(keys)
	return keys
}

// selectorInformers runs informers with label and field selectors (watch-list with selectors):
// objects entering the selection are added, objects leaving it are deleted from the store.
func selectorInformers(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(cs) {
		return
	}
	ctx, ns := p.ctx, p.namespace
	podsc := cs.CoreV1().Pods(ns)
	for _, pod := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "in", Labels: map[string]string{"app": "sel"}}, Spec: podSpec()},
		{ObjectMeta: metav1.ObjectMeta{Name: "out", Labels: map[string]string{"app": "other"}}, Spec: podSpec()},
	} {
		_, err := podsc.Create(ctx, pod, metav1.CreateOptions{})
		if !p.noErr("selectors/create-"+pod.Name, err) {
			return
		}
	}

	byLabel := &recorder{}
	byField := &recorder{}
	byPhase := &recorder{}
	labelFactory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "app=sel" }))
	fieldFactory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=node-x" }))
	phaseFactory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "status.phase!=Running,metadata.name!=out" }))
	labelInf := labelFactory.Core().V1().Pods().Informer()
	fieldInf := fieldFactory.Core().V1().Pods().Informer()
	phaseInf := phaseFactory.Core().V1().Pods().Informer()
	_, _ = labelInf.AddEventHandler(byLabel.handler())
	_, _ = fieldInf.AddEventHandler(byField.handler())
	_, _ = phaseInf.AddEventHandler(byPhase.handler())
	stop := make(chan struct{})
	defer close(stop)
	labelFactory.Start(stop)
	fieldFactory.Start(stop)
	phaseFactory.Start(stop)
	if !cache.WaitForCacheSync(ctx.Done(), labelInf.HasSynced, fieldInf.HasSynced, phaseInf.HasSynced) {
		p.fail("selectors/synced", "never synced")
		return
	}
	key := func(n string) string { return ns + "/" + n }
	p.expect("selectors/label-initial", fmt.Sprint(storeKeys(labelInf)) == fmt.Sprint([]string{key("in")}), "store %v", storeKeys(labelInf))
	p.expect("selectors/field-initial", len(storeKeys(fieldInf)) == 0, "store %v", storeKeys(fieldInf))
	p.expect("selectors/phase-initial", fmt.Sprint(storeKeys(phaseInf)) == fmt.Sprint([]string{key("in")}), "store %v", storeKeys(phaseInf))

	// "out" enters the label selection; "in" leaves it.
	_, err := podsc.Patch(ctx, "out", types.MergePatchType, []byte(`{"metadata":{"labels":{"app":"sel"}}}`), metav1.PatchOptions{})
	p.noErr("selectors/relabel-out", err)
	_, err = podsc.Patch(ctx, "in", types.MergePatchType, []byte(`{"metadata":{"labels":{"app":"gone"}}}`), metav1.PatchOptions{})
	p.noErr("selectors/relabel-in", err)
	p.expect("selectors/label-enter", eventually(20*time.Second, func() bool { return byLabel.seen("add " + key("out")) }), "events %v", byLabel.events)
	p.expect("selectors/label-leave", eventually(20*time.Second, func() bool { return byLabel.seen("delete " + key("in")) }), "events %v", byLabel.events)
	p.expect("selectors/label-store", fmt.Sprint(storeKeys(labelInf)) == fmt.Sprint([]string{key("out")}), "store %v", storeKeys(labelInf))

	// Binding "in" makes it enter the field selection; a status change makes it leave the phase one.
	err = podsc.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "in"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-x"}}, metav1.CreateOptions{})
	p.noErr("selectors/bind", err)
	p.expect("selectors/field-enter", eventually(20*time.Second, func() bool { return byField.seen("add " + key("in")) }), "events %v", byField.events)
	pod, err := podsc.Get(ctx, "in", metav1.GetOptions{})
	if p.noErr("selectors/get", err) {
		pod.Status.Phase = corev1.PodRunning
		_, err = podsc.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		p.noErr("selectors/update-status", err)
	}
	p.expect("selectors/phase-leave", eventually(20*time.Second, func() bool { return byPhase.seen("delete " + key("in")) }), "events %v", byPhase.events)
	p.expect("selectors/field-still", byField.count("delete "+key("in")) == 0 && fmt.Sprint(storeKeys(fieldInf)) == fmt.Sprint([]string{key("in")}), "store %v events %v", storeKeys(fieldInf), byField.events)
	err = podsc.Delete(ctx, "in", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	p.noErr("selectors/delete", err)
	p.expect("selectors/field-delete", eventually(20*time.Second, func() bool { return byField.seen("delete " + key("in")) }), "events %v", byField.events)
	p.expect("selectors/label-no-delete-of-gone", byLabel.count("delete "+key("in")) == 1, "events %v", byLabel.events)
}

// cuttableTransport lets the scenario take the server away from one client: while cut, open
// response bodies end (as a watch the server closes does) and new requests fail with
// "connection refused" (as while a server restarts).
type cuttableTransport struct {
	next   http.RoundTripper
	mu     sync.Mutex
	cut    bool
	bodies map[*cuttableBody]struct{}
	log    func(map[string]any)
}

type cuttableBody struct {
	io.ReadCloser
	t *cuttableTransport
}

func (b *cuttableBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.t.mu.Lock()
	cut := b.t.cut
	b.t.mu.Unlock()
	if err != nil && cut {
		return n, io.EOF
	}
	return n, err
}

func (b *cuttableBody) Close() error {
	b.t.mu.Lock()
	delete(b.t.bodies, b)
	b.t.mu.Unlock()
	return b.ReadCloser.Close()
}

func (t *cuttableTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	cut := t.cut
	t.mu.Unlock()
	line := map[string]any{"request": req.Method + " " + req.URL.Path, "query": req.URL.RawQuery}
	if cut {
		line["refused"] = true
		t.log(line)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		line["error"] = err.Error()
		t.log(line)
		return nil, err
	}
	line["status"] = resp.StatusCode
	t.log(line)
	body := &cuttableBody{ReadCloser: resp.Body, t: t}
	t.mu.Lock()
	t.bodies[body] = struct{}{}
	t.mu.Unlock()
	resp.Body = body
	return resp, nil
}

func (t *cuttableTransport) setCut(cut bool) {
	t.mu.Lock()
	t.cut = cut
	open := []*cuttableBody{}
	for b := range t.bodies {
		open = append(open, b)
	}
	t.mu.Unlock()
	if cut {
		for _, b := range open {
			_ = b.ReadCloser.Close()
		}
	}
}

// relistAfterExpiry makes an informer fall behind: its server goes away, meanwhile objects
// change and the store compacts the revisions it last saw; when the server comes back the
// informer's watch from its old resourceVersion is refused with 410 Expired, and client-go must
// relist (by watch-list) to the current state, once, without looping on errors.
func relistAfterExpiry(p *probe) {
	admin := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(admin) {
		return
	}
	ctx, ns := p.ctx, p.namespace
	podsc := admin.CoreV1().Pods(ns)
	for _, n := range []string{"r1", "r2", "r3"} {
		_, err := podsc.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n}, Spec: podSpec()}, metav1.CreateOptions{})
		if !p.noErr("relist/create-"+n, err) {
			return
		}
	}

	var requests []map[string]any
	var reqMu sync.Mutex
	transport := &cuttableTransport{bodies: map[*cuttableBody]struct{}{}, log: func(l map[string]any) {
		reqMu.Lock()
		requests = append(requests, l)
		reqMu.Unlock()
	}}
	config := rest.CopyConfig(p.config)
	config.Wrap(func(rt http.RoundTripper) http.RoundTripper { transport.next = rt; return transport })
	cs := kubernetes.NewForConfigOrDie(config)
	rec := &recorder{}
	watchErrors := []string{}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(rec.handler())
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		reqMu.Lock()
		watchErrors = append(watchErrors, err.Error())
		reqMu.Unlock()
	})
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		p.fail("relist/synced", "never synced")
		return
	}
	seenRV := inf.LastSyncResourceVersion()
	p.note(map[string]any{"syncedAt": seenRV})

	transport.setCut(true)
	// Changes the informer cannot see, then churn until the revision it saw is compacted away.
	_, err := podsc.Patch(ctx, "r2", types.MergePatchType, []byte(`{"metadata":{"labels":{"changed":"yes"}}}`), metav1.PatchOptions{})
	p.noErr("relist/update-r2", err)
	p.noErr("relist/delete-r1", podsc.Delete(ctx, "r1", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}))
	_, err = podsc.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "r4"}, Spec: podSpec()}, metav1.CreateOptions{})
	p.noErr("relist/create-r4", err)
	compacted := eventually(2*time.Minute, func() bool {
		_, _ = podsc.Patch(ctx, "r3", types.MergePatchType, []byte(fmt.Sprintf(`{"metadata":{"annotations":{"churn":"%d"}}}`, time.Now().UnixNano())), metav1.PatchOptions{})
		_, err := podsc.List(ctx, metav1.ListOptions{ResourceVersion: seenRV, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		return apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
	})
	if !p.expect("relist/compacted", compacted, "resourceVersion %s was never compacted", seenRV) {
		return
	}
	reqMu.Lock()
	before := len(requests)
	reqMu.Unlock()
	transport.setCut(false)

	want := []string{ns + "/r2", ns + "/r3", ns + "/r4"}
	caughtUp := eventually(90*time.Second, func() bool {
		obj, ok, _ := inf.GetStore().GetByKey(ns + "/r2")
		labelled := false
		if ok {
			m, _ := meta.Accessor(obj)
			labelled = m.GetLabels()["changed"] == "yes"
		}
		return labelled && fmt.Sprint(storeKeys(inf)) == fmt.Sprint(want)
	})
	p.expect("relist/caught-up", caughtUp, "store %v events %v", storeKeys(inf), rec.events)
	time.Sleep(3 * time.Second) // let any error loop show itself

	reqMu.Lock()
	after := append([]map[string]any(nil), requests[before:]...)
	errs := append([]string(nil), watchErrors...)
	reqMu.Unlock()
	p.note(map[string]any{"requestsAfterReconnect": after, "watchErrors": errs})
	podRequests := 0
	expired := 0
	for _, r := range after {
		if strings.HasSuffix(r["request"].(string), "/pods") {
			podRequests++
		}
	}
	for _, e := range errs {
		if strings.Contains(e, "too old resource version") || strings.Contains(e, "Expired") {
			expired++
		}
	}
	p.expect("relist/bounded-requests", podRequests <= 3, "%d pod requests after reconnecting: %v", podRequests, after)
	p.expect("relist/no-error-loop", expired <= 1, "%d expiry errors: %v", expired, errs)
	p.expect("relist/r1-deleted-once", rec.count("delete "+ns+"/r1") == 1, "events %v", rec.events)
	p.expect("relist/r4-added-once", rec.count("add "+ns+"/r4") == 1, "events %v", rec.events)
	p.expect("relist/no-duplicate-adds", rec.count("add "+ns+"/r2") == 1 && rec.count("add "+ns+"/r3") == 1, "events %v", rec.events)
}

var errStop = errors.New("stop")

// watchListConsistency syncs typed informers on every core kind by watch-list. Run with
// KUBE_WATCHLIST_INCONSISTENCY_DETECTOR=true, client-go then lists each resource at the
// resourceVersion its watch-list ended at and panics unless the objects are identical to the
// ones the watch streamed, as kube's own CI runs its components.
func watchListConsistency(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(cs) {
		return
	}
	ctx, ns := p.ctx, p.namespace
	_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "c1"}, Spec: podSpec()}, metav1.CreateOptions{})
	p.noErr("consistency/create-pod", err)
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"}}, metav1.CreateOptions{})
	p.noErr("consistency/create-configmap", err)
	_, err = cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c1"}}, metav1.CreateOptions{})
	p.noErr("consistency/create-secret", err)
	_, err = cs.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "c1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "c1"}}, metav1.CreateOptions{})
	p.noErr("consistency/create-event", err)

	factory := informers.NewSharedInformerFactory(cs, 0)
	all := map[string]cache.SharedIndexInformer{
		"pods":       factory.Core().V1().Pods().Informer(),
		"configmaps": factory.Core().V1().ConfigMaps().Informer(),
		"secrets":    factory.Core().V1().Secrets().Informer(),
		"events":     factory.Core().V1().Events().Informer(),
		"namespaces": factory.Core().V1().Namespaces().Informer(),
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	for name, inf := range all {
		p.expect("consistency/"+name+"-synced", cache.WaitForCacheSync(ctx.Done(), inf.HasSynced), "never synced")
		_, found, _ := inf.GetStore().GetByKey(ns + "/c1")
		if name == "namespaces" {
			_, found, _ = inf.GetStore().GetByKey(ns)
		}
		p.expect("consistency/"+name+"-found", found, "store %v", storeKeys(inf))
	}
}
