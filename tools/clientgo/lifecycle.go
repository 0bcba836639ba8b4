package main

import (
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// generationContract checks metadata.generation and status.observedGeneration on pods as
// kube's pod strategy keeps them: 1 on create, +1 per spec change only, +1 when deletion starts;
// observedGeneration written through status and kept when a status write leaves it out.
func generationContract(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(cs) {
		return
	}
	ctx, ns := p.ctx, p.namespace
	dyn := dynamic.NewForConfigOrDie(p.config)
	for _, r := range podResources() {
		gv := r.gvr.GroupVersion().String()
		check := func(what string) string { return gv + "/generation-" + what }
		client := dyn.Resource(r.gvr).Namespace(ns)
		name := "gen-" + r.gvr.Version + r.gvr.Group
		u := unstructuredPod(r.gvr, name, nil)
		u.SetFinalizers([]string{"example.com/hold"})
		created, err := client.Create(ctx, u, metav1.CreateOptions{})
		if !p.noErr(check("create"), err) {
			continue
		}
		p.expect(check("on-create"), created.GetGeneration() == 1, "generation %d", created.GetGeneration())
		labelled, err := client.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{})
		if p.noErr(check("label"), err) {
			p.expect(check("metadata-change"), labelled.GetGeneration() == 1, "generation %d after a label change", labelled.GetGeneration())
		}
		changed, err := client.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":600}}`), metav1.PatchOptions{})
		if p.noErr(check("spec"), err) {
			p.expect(check("spec-change"), changed.GetGeneration() == 2, "generation %d after a spec change", changed.GetGeneration())
		}
		same, err := client.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":600}}`), metav1.PatchOptions{})
		if p.noErr(check("spec-same"), err) {
			p.expect(check("spec-no-change"), same.GetGeneration() == 2, "generation %d after a no-op spec patch", same.GetGeneration())
		}
		status, err := client.Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"False","observedGeneration":2}]}}`), metav1.PatchOptions{}, "status")
		if p.noErr(check("status"), err) {
			og, _, _ := unstructured.NestedInt64(status.Object, "status", "observedGeneration")
			p.expect(check("observed-stored"), og == 2 && status.GetGeneration() == 2, "observedGeneration %d generation %d", og, status.GetGeneration())
		}
		// A status write that leaves observedGeneration out keeps the old one.
		got, err := client.Get(ctx, name, metav1.GetOptions{})
		if p.noErr(check("get"), err) {
			unstructured.RemoveNestedField(got.Object, "status", "observedGeneration")
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				delete(c.(map[string]any), "observedGeneration")
			}
			_ = unstructured.SetNestedSlice(got.Object, conds, "status", "conditions")
			kept, err := client.UpdateStatus(ctx, got, metav1.UpdateOptions{})
			if p.noErr(check("status-update"), err) {
				og, _, _ := unstructured.NestedInt64(kept.Object, "status", "observedGeneration")
				conds, _, _ := unstructured.NestedSlice(kept.Object, "status", "conditions")
				cog := int64(-1)
				if len(conds) == 1 {
					cog, _, _ = unstructured.NestedInt64(conds[0].(map[string]any), "observedGeneration")
				}
				p.expect(check("observed-kept"), og == 2 && cog == 2, "observedGeneration %d, condition's %d", og, cog)
			}
		}
		// Deletion (held by a finalizer) bumps the generation once.
		if p.noErr(check("delete"), client.Delete(ctx, name, metav1.DeleteOptions{})) {
			deleting, err := client.Get(ctx, name, metav1.GetOptions{})
			if p.noErr(check("get-deleting"), err) {
				p.expect(check("on-delete"), deleting.GetDeletionTimestamp() != nil && deleting.GetGeneration() == 3, "generation %d deletionTimestamp %v", deleting.GetGeneration(), deleting.GetDeletionTimestamp())
			}
			p.noErr(check("delete-again"), client.Delete(ctx, name, metav1.DeleteOptions{}))
			again, err := client.Get(ctx, name, metav1.GetOptions{})
			if p.noErr(check("get-deleting-again"), err) {
				p.expect(check("on-second-delete"), again.GetGeneration() == 3, "generation %d", again.GetGeneration())
			}
			_, err = client.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			p.noErr(check("release"), err)
		}
	}

	// Kinds without a spec have no generation; marking them deleted does not give them one.
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gen", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	if p.noErr("configmaps/generation-create", err) {
		p.expect("configmaps/generation-none", cm.Generation == 0, "generation %d", cm.Generation)
		_ = cs.CoreV1().ConfigMaps(ns).Delete(ctx, "gen", metav1.DeleteOptions{})
		cm, err = cs.CoreV1().ConfigMaps(ns).Get(ctx, "gen", metav1.GetOptions{})
		if p.noErr("configmaps/generation-get-deleting", err) {
			p.expect("configmaps/generation-none-on-delete", cm.Generation == 0 && cm.DeletionTimestamp != nil, "generation %d", cm.Generation)
		}
		_, err = cs.CoreV1().ConfigMaps(ns).Patch(ctx, "gen", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		p.noErr("configmaps/generation-release", err)
	}
}

// namespaceDeletion fills a namespace with a few hundred objects of every kind and deletes it
// through client-go; it must finish promptly, refuse new content meanwhile with kube's
// NamespaceTerminating cause, and wait for a finalizer someone still holds.
func namespaceDeletion(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(cs) {
		return
	}
	ctx, ns := p.ctx, p.namespace
	dyn := dynamic.NewForConfigOrDie(p.config)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := []string{}
	work := make(chan func() error)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if err := f(); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	total := 0
	for i := 0; i < 100; i++ {
		i := i
		total += 2
		work <- func() error {
			_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"i": fmt.Sprint(i)}}, metav1.CreateOptions{})
			return err
		}
		work <- func() error {
			name := fmt.Sprintf("pod-%d", i)
			_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: podSpec()}, metav1.CreateOptions{})
			if err != nil || i%2 == 1 {
				return err
			}
			// half of them scheduled: deleting those waits for a kubelet (or Capstan's pod finisher)
			return cs.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}, metav1.CreateOptions{})
		}
	}
	for i := 0; i < 50; i++ {
		i := i
		total += 2
		work <- func() error {
			_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s-%d", i)}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{})
			return err
		}
		work <- func() error {
			_, err := cs.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("e-%d", i)}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "pod-0"}, Reason: "R", Message: "m", Type: "Normal"}, metav1.CreateOptions{})
			return err
		}
	}
	if *withCapstan {
		gvr := schema.GroupVersionResource{Group: "capstan.dev", Version: "v1", Resource: "pods"}
		for i := 0; i < 30; i++ {
			i := i
			total++
			work <- func() error {
				pod := unstructuredPod(gvr, fmt.Sprintf("cp-%d", i), nil)
				if i%2 == 0 {
					_ = unstructured.SetNestedField(pod.Object, "node-1", "spec", "nodeName")
				}
				_, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, pod, metav1.CreateOptions{})
				return err
			}
		}
	}
	close(work)
	wg.Wait()
	if !p.expect("namespace/filled", len(failures) == 0, "%d failures, first: %v", len(failures), failures) {
		return
	}
	p.note(map[string]any{"objects": total})
	// One object someone still holds.
	_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	p.noErr("namespace/create-held", err)

	w, err := cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + ns})
	if !p.noErr("namespace/watch", err) {
		return
	}
	defer w.Stop()
	start := time.Now()
	if !p.noErr("namespace/delete", cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})) {
		return
	}
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	p.expect("namespace/refuses-new-content", apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause), "want Forbidden with cause %s, got %v", corev1.NamespaceTerminatingCause, err)

	// Everything but the held object goes; the namespace stays Terminating and says why.
	emptied := eventually(60*time.Second, func() bool {
		left := 0
		for _, l := range []func() (int, error){
			func() (int, error) {
				l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
				return lenOr(l, err)
			},
			func() (int, error) {
				l, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
				return lenOr(l, err)
			},
			func() (int, error) {
				l, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
				return lenOr(l, err)
			},
			func() (int, error) {
				l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
				return lenOr(l, err)
			},
			func() (int, error) {
				if !*withCapstan {
					return 0, nil
				}
				l, err := dyn.Resource(schema.GroupVersionResource{Group: "capstan.dev", Version: "v1", Resource: "pods"}).Namespace(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return 0, err
				}
				return len(l.Items), nil
			},
		} {
			n, err := l()
			if err != nil {
				return false
			}
			left += n
		}
		return left == 1
	})
	p.expect("namespace/emptied", emptied, "contents not deleted within a minute")
	p.note(map[string]any{"emptiedAfter": time.Since(start).String()})
	n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if p.noErr("namespace/still-there", err) {
		p.expect("namespace/terminating", n.Status.Phase == corev1.NamespaceTerminating, "phase %s", n.Status.Phase)
		conds := map[corev1.NamespaceConditionType]corev1.ConditionStatus{}
		for _, c := range n.Status.Conditions {
			conds[c.Type] = c.Status
		}
		p.expect("namespace/finalizers-remaining-condition", eventually(20*time.Second, func() bool {
			n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NamespaceFinalizersRemaining && c.Status == corev1.ConditionTrue {
					return true
				}
			}
			return false
		}), "conditions %v", conds)
	}
	_, err = cs.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	p.noErr("namespace/release-held", err)
	gone := false
	timeout := time.After(60 * time.Second)
	for !gone {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				w, err = cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + ns})
				if err != nil {
					p.fail("namespace/rewatch", "%v", err)
					return
				}
				continue
			}
			gone = e.Type == watch.Deleted
		case <-timeout:
			p.fail("namespace/deleted", "still there a minute after its last finalizer was released")
			return
		}
	}
	p.ok("namespace/deleted")
	p.note(map[string]any{"deletedAfter": time.Since(start).String()})
	_, err = cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	p.expect("namespace/not-found", apierrors.IsNotFound(err), "want NotFound, got %v", err)
}

func lenOr[T interface{ Size() int }](l T, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	switch v := any(l).(type) {
	case *corev1.PodList:
		return len(v.Items), nil
	case *corev1.SecretList:
		return len(v.Items), nil
	case *corev1.EventList:
		return len(v.Items), nil
	case *corev1.ConfigMapList:
		return len(v.Items), nil
	}
	return 0, fmt.Errorf("unknown list %T", l)
}
