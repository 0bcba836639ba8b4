package main

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// bookmarkProgression watches pods with bookmarks for a little over a minute while pods in the
// namespace and configmaps elsewhere change: no event may come after a bookmark with a
// resourceVersion at or below it, bookmark resourceVersions never go back, and a watch resumed
// from the last bookmark replays nothing older.
func bookmarkProgression(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(cs) {
		return
	}
	ctx, ns := p.ctx, p.namespace
	podsc := cs.CoreV1().Pods(ns)
	_, err := podsc.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "b1"}, Spec: podSpec()}, metav1.CreateOptions{})
	if !p.noErr("bookmarks/create", err) {
		return
	}
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}}, metav1.CreateOptions{})
	p.noErr("bookmarks/create-configmap", err)
	timeout := int64(75)
	w, err := podsc.Watch(ctx, metav1.ListOptions{AllowWatchBookmarks: true, SendInitialEvents: ptr(true), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, TimeoutSeconds: &timeout})
	if !p.noErr("bookmarks/watch", err) {
		return
	}
	defer w.Stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			if i%5 == 0 {
				_, _ = podsc.Patch(ctx, "b1", types.MergePatchType, []byte(`{"metadata":{"annotations":{"n":"`+strconv.Itoa(i)+`"}}}`), metav1.PatchOptions{})
			} else {
				_, _ = cs.CoreV1().ConfigMaps(ns).Patch(ctx, "elsewhere", types.MergePatchType, []byte(`{"data":{"n":"`+strconv.Itoa(i)+`"}}`), metav1.PatchOptions{})
			}
			if i > 150 {
				return
			}
		}
	}()
	lastBookmark, lastEvent := uint64(0), uint64(0)
	bookmarks, initialEnd := 0, false
	violations := []string{}
	for e := range w.ResultChan() {
		if e.Type == watch.Error {
			p.fail("bookmarks/error-event", "%v", e.Object)
			break
		}
		m, err := meta.Accessor(e.Object)
		if err != nil {
			p.fail("bookmarks/accessor", "%v", err)
			break
		}
		rv, _ := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
		switch e.Type {
		case watch.Bookmark:
			if m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true" {
				initialEnd = true
			} else {
				bookmarks++
			}
			if rv < lastBookmark || rv < lastEvent {
				violations = append(violations, "bookmark "+m.GetResourceVersion()+" after "+strconv.FormatUint(max(lastBookmark, lastEvent), 10))
			}
			lastBookmark = rv
			p.note(map[string]any{"bookmark": m.GetResourceVersion(), "at": time.Now().Format(time.RFC3339)})
		default:
			if initialEnd && (rv <= lastBookmark || rv <= lastEvent) {
				violations = append(violations, string(e.Type)+" "+m.GetResourceVersion()+" after "+strconv.FormatUint(max(lastBookmark, lastEvent), 10))
			}
			if initialEnd {
				lastEvent = rv
			}
		}
	}
	<-done
	p.expect("bookmarks/initial-events-end", initialEnd, "no initial-events-end bookmark")
	p.expect("bookmarks/periodic", bookmarks >= 1, "no periodic bookmark in %ds", timeout)
	p.expect("bookmarks/order", len(violations) == 0, "%v", violations)
	p.expect("bookmarks/progress", lastBookmark > 0, "no bookmark resourceVersion")

	// Resuming from the last bookmark replays nothing at or before it.
	if lastBookmark > 0 {
		short := int64(2)
		w2, err := podsc.Watch(ctx, metav1.ListOptions{AllowWatchBookmarks: true, ResourceVersion: strconv.FormatUint(lastBookmark, 10), TimeoutSeconds: &short})
		if p.noErr("bookmarks/resume", err) {
			for e := range w2.ResultChan() {
				m, err := meta.Accessor(e.Object)
				if err != nil {
					p.fail("bookmarks/resume-event", "%v %v", e.Type, e.Object)
					continue
				}
				rv, _ := strconv.ParseUint(m.GetResourceVersion(), 10, 64)
				p.expect("bookmarks/resume-newer", e.Type == watch.Bookmark || rv > lastBookmark, "%s %s after resuming at %d", e.Type, m.GetResourceVersion(), lastBookmark)
			}
		}
	}
}
