package main

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// ensureNamespace creates the scenario's namespace (or finds it).
func (p *probe) ensureNamespace(cs kubernetes.Interface) bool {
	_, err := cs.CoreV1().Namespaces().Create(p.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		p.fail("namespace/create", "%v", err)
		return false
	}
	return true
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}
}

// writes drives every core kind through the typed clientset, which sends protobuf bodies for
// built-in kinds (client-go ≥ 1.33) and accepts protobuf or JSON back.
func writes(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	ctx, ns := p.ctx, p.namespace
	if !p.ensureNamespace(cs) {
		return
	}

	// Namespaces: update labels, status.
	if n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); p.noErr("namespaces/get", err) {
		n.Labels = map[string]string{"probe": "yes"}
		n, err = cs.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{})
		if p.noErr("namespaces/update", err) {
			p.expect("namespaces/update-labels", n.Labels["probe"] == "yes", "labels %v", n.Labels)
			n.Status.Conditions = append(n.Status.Conditions, corev1.NamespaceCondition{Type: "ProbeCondition", Status: corev1.ConditionTrue, Reason: "Probe"})
			_, err = cs.CoreV1().Namespaces().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			p.noErr("namespaces/update-status", err)
		}
	}

	// ConfigMaps: create, update, every patch type, apply, list by label, delete collection.
	cms := cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm1", Labels: map[string]string{"set": "a"}}, Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": {0, 1, 2}}}, metav1.CreateOptions{})
	if p.noErr("configmaps/create", err) {
		p.expect("configmaps/create-binary", len(cm.BinaryData["b"]) == 3 && cm.BinaryData["b"][2] == 2, "binaryData %v", cm.BinaryData)
		cm.Data["k2"] = "v2"
		cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		p.noErr("configmaps/update", err)
		_, err = cms.Patch(ctx, "cm1", types.StrategicMergePatchType, []byte(`{"data":{"s":"1"}}`), metav1.PatchOptions{})
		p.noErr("configmaps/patch-strategic", err)
		_, err = cms.Patch(ctx, "cm1", types.MergePatchType, []byte(`{"data":{"m":"1"}}`), metav1.PatchOptions{})
		p.noErr("configmaps/patch-merge", err)
		_, err = cms.Patch(ctx, "cm1", types.JSONPatchType, []byte(`[{"op":"add","path":"/data/j","value":"1"}]`), metav1.PatchOptions{})
		p.noErr("configmaps/patch-json", err)
		applied, err := cms.Apply(ctx, corev1ac.ConfigMap("cm1", ns).WithData(map[string]string{"a": "1"}), metav1.ApplyOptions{FieldManager: "clientgo", Force: true})
		if p.noErr("configmaps/apply", err) {
			p.expect("configmaps/apply-merged", applied.Data["a"] == "1" && applied.Data["j"] == "1" && applied.Data["k"] == "v", "data %v", applied.Data)
		}
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm2", Labels: map[string]string{"set": "b"}}}, metav1.CreateOptions{})
		p.noErr("configmaps/create-second", err)
		list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "set=a"})
		if p.noErr("configmaps/list-selector", err) {
			p.expect("configmaps/list-selector-items", len(list.Items) == 1 && list.Items[0].Name == "cm1", "items %d", len(list.Items))
		}
		err = cms.Delete(ctx, "cm1", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(types.UID("not-the-uid"))}})
		p.expect("configmaps/delete-precondition-conflict", apierrors.IsConflict(err), "want a Conflict, got %v", err)
		err = cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "set"})
		p.noErr("configmaps/delete-collection", err)
		list, err = cms.List(ctx, metav1.ListOptions{})
		if p.noErr("configmaps/list-after-delete-collection", err) {
			names := []string{}
			for _, i := range list.Items {
				names = append(names, i.Name)
			}
			p.expect("configmaps/delete-collection-emptied", !contains(names, "cm1") && !contains(names, "cm2"), "left %v", names)
		}
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		p.noErr("configmaps/create-dry-run", err)
		_, err = cms.Get(ctx, "dry", metav1.GetOptions{})
		p.expect("configmaps/dry-run-not-stored", apierrors.IsNotFound(err), "want NotFound, got %v", err)
	}

	// Secrets: data round-trips as bytes, stringData folds into data.
	secret, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s1"}, Data: map[string][]byte{"bin": {0xff, 0}}, StringData: map[string]string{"str": "text"}}, metav1.CreateOptions{})
	if p.noErr("secrets/create", err) {
		p.expect("secrets/data", string(secret.Data["str"]) == "text" && len(secret.Data["bin"]) == 2 && secret.Type == corev1.SecretTypeOpaque && len(secret.StringData) == 0, "data %v type %q stringData %v", secret.Data, secret.Type, secret.StringData)
		secret.Data["more"] = []byte("x")
		_, err = cs.CoreV1().Secrets(ns).Update(ctx, secret, metav1.UpdateOptions{})
		p.noErr("secrets/update", err)
		err = cs.CoreV1().Secrets(ns).Delete(ctx, "s1", metav1.DeleteOptions{})
		p.noErr("secrets/delete", err)
	}

	// Events: the legacy recorder's create and update, and a field-selected list.
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "pod1.probe", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "pod1", APIVersion: "v1"},
		Reason:         "Probed", Message: "probed", Type: corev1.EventTypeNormal, Count: 1,
		Source:         corev1.EventSource{Component: "clientgo"},
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
	}
	ev, err = cs.CoreV1().Events(ns).CreateWithEventNamespace(ev)
	if p.noErr("events/create", err) {
		ev.Count = 2
		_, err = cs.CoreV1().Events(ns).UpdateWithEventNamespace(ev)
		p.noErr("events/update", err)
		_, err = cs.CoreV1().Events(ns).PatchWithEventNamespace(ev, []byte(`{"count":3}`))
		p.noErr("events/patch", err)
		list, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.SelectorFromSet(fields.Set{"involvedObject.name": "pod1", "reason": "Probed"}).String()})
		if p.noErr("events/list-field-selector", err) {
			p.expect("events/list-field-selector-items", len(list.Items) == 1 && list.Items[0].Count == 3, "items %d", len(list.Items))
		}
		sel := cs.CoreV1().Events(ns).GetFieldSelector(ptr("pod1"), ptr(ns), ptr("Pod"), nil)
		list, err = cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel.String()})
		if p.noErr("events/list-involved-object", err) {
			p.expect("events/list-involved-object-items", len(list.Items) == 1, "items %d for %s", len(list.Items), sel)
		}
	}

	pods(p, cs)
}

func pods(p *probe, cs kubernetes.Interface) {
	ctx, ns := p.ctx, p.namespace
	podsc := cs.CoreV1().Pods(ns)

	pod, err := podsc.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod1"}, Spec: podSpec()}, metav1.CreateOptions{})
	if !p.noErr("pods/create", err) {
		return
	}
	p.expect("pods/defaults", pod.Spec.RestartPolicy == corev1.RestartPolicyAlways && pod.Spec.DNSPolicy == corev1.DNSClusterFirst && pod.Status.Phase == corev1.PodPending && pod.Spec.Containers[0].TerminationMessagePath != "", "restartPolicy %q dnsPolicy %q phase %q", pod.Spec.RestartPolicy, pod.Spec.DNSPolicy, pod.Status.Phase)

	// A watch through the typed client decodes what the server streams.
	w, err := podsc.Watch(ctx, metav1.ListOptions{ResourceVersion: pod.ResourceVersion, FieldSelector: "metadata.name=pod1"})
	if !p.noErr("pods/watch", err) {
		return
	}
	defer w.Stop()

	// Bind: spec.nodeName and the PodScheduled condition.
	err = podsc.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "pod1"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}, metav1.CreateOptions{})
	if p.noErr("pods/bind", err) {
		pod, err = podsc.Get(ctx, "pod1", metav1.GetOptions{})
		if p.noErr("pods/get-after-bind", err) {
			p.expect("pods/bind-node", pod.Spec.NodeName == "node-1", "nodeName %q", pod.Spec.NodeName)
			cond := podCondition(pod, corev1.PodScheduled)
			p.expect("pods/bind-condition", cond != nil && cond.Status == corev1.ConditionTrue, "PodScheduled %+v", cond)
		}
		err = podsc.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "pod1"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-2"}}, metav1.CreateOptions{})
		p.expect("pods/bind-twice-conflict", apierrors.IsConflict(err), "want a Conflict, got %v", err)
	}
	select {
	case e := <-w.ResultChan():
		got, _ := e.Object.(*corev1.Pod)
		p.expect("pods/watch-event", e.Type == watch.Modified && got != nil && got.Spec.NodeName == "node-1", "got %s %T", e.Type, e.Object)
	case <-ctx.Done():
		p.fail("pods/watch-event", "no event")
	}

	// UpdateStatus: status changes, spec changes ignored.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := podsc.Get(ctx, "pod1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod.Status.Phase = corev1.PodRunning
		pod.Status.PodIP = "10.1.2.3"
		pod.Status.PodIPs = []corev1.PodIP{{IP: "10.1.2.3"}}
		pod.Labels = map[string]string{"ignored": "by-status"}
		_, err = podsc.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if p.noErr("pods/update-status", err) {
		pod, err = podsc.Get(ctx, "pod1", metav1.GetOptions{})
		if p.noErr("pods/get-after-status", err) {
			p.expect("pods/status-stored", pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP == "10.1.2.3", "phase %q ip %q", pod.Status.Phase, pod.Status.PodIP)
			// kube's pods/status keeps spec and ownerReferences, not labels
			p.expect("pods/status-writes-labels", pod.Labels["ignored"] == "by-status", "labels %v", pod.Labels)
		}
	}

	// Evict: a bound pod is deleted gracefully (Terminating, or gone once something finishes it).
	err = podsc.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "pod1", Namespace: ns}})
	if p.noErr("pods/evict", err) {
		pod, err = podsc.Get(ctx, "pod1", metav1.GetOptions{})
		p.expect("pods/evict-deleting", apierrors.IsNotFound(err) || (err == nil && pod.DeletionTimestamp != nil), "err %v", err)
	}
	err = podsc.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "missing", Namespace: ns}})
	p.expect("pods/evict-missing", apierrors.IsNotFound(err), "want NotFound, got %v", err)

	// The deprecated policy/v1beta1 Eviction (client-go's Evict and EvictV1beta1) is still taken.
	_, err = podsc.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod3"}, Spec: podSpec()}, metav1.CreateOptions{})
	if p.noErr("pods/create-third", err) {
		err = podsc.EvictV1beta1(ctx, &policyv1beta1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "pod3", Namespace: ns}})
		if p.noErr("pods/evict-v1beta1", err) {
			_, err = podsc.Get(ctx, "pod3", metav1.GetOptions{})
			p.expect("pods/evict-v1beta1-deleted", apierrors.IsNotFound(err), "want NotFound, got %v", err)
		}
	}

	// Unscheduled pods go at once on delete (no kubelet to wait for).
	_, err = podsc.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod2"}, Spec: podSpec()}, metav1.CreateOptions{})
	if p.noErr("pods/create-second", err) {
		err = podsc.Delete(ctx, "pod2", metav1.DeleteOptions{})
		p.noErr("pods/delete", err)
		_, err = podsc.Get(ctx, "pod2", metav1.GetOptions{})
		p.expect("pods/delete-unscheduled-immediate", apierrors.IsNotFound(err), "want NotFound, got %v", err)
	}
}

// conflicts runs concurrent read-modify-write loops through retry.RetryOnConflict: every
// increment must land exactly once.
func conflicts(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(cs) {
		return
	}
	cms := cs.CoreV1().ConfigMaps(p.namespace)
	_, err := cms.Create(p.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "counter"}, Data: map[string]string{"n": "0"}}, metav1.CreateOptions{})
	if !p.noErr("conflicts/create", err) {
		return
	}
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	conflictsSeen := make(chan struct{}, 1000)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errs <- retry.RetryOnConflict(wait.Backoff{Steps: 50, Duration: 5 * time.Millisecond, Factor: 1.2, Jitter: 0.5, Cap: time.Second}, func() error {
					cm, err := cms.Get(p.ctx, "counter", metav1.GetOptions{})
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(cm.Data["n"])
					cm.Data["n"] = strconv.Itoa(n + 1)
					_, err = cms.Update(p.ctx, cm, metav1.UpdateOptions{})
					if apierrors.IsConflict(err) {
						select {
						case conflictsSeen <- struct{}{}:
						default:
						}
					}
					return err
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	failures := 0
	for err := range errs {
		if err != nil {
			failures++
			p.fail("conflicts/increment", "%v", err)
		}
	}
	cm, err := cms.Get(p.ctx, "counter", metav1.GetOptions{})
	if p.noErr("conflicts/get", err) {
		p.expect("conflicts/count", cm.Data["n"] == strconv.Itoa(workers*each-failures), "n=%s", cm.Data["n"])
	}
	p.note(map[string]any{"conflicts": len(conflictsSeen)})

	// A stale update names the object and the reason as kube's 409 does.
	stale := cm.DeepCopy()
	stale.ResourceVersion = "1"
	_, err = cms.Update(p.ctx, stale, metav1.UpdateOptions{})
	if p.expect("conflicts/stale-update", apierrors.IsConflict(err), "want a Conflict, got %v", err) {
		want := fmt.Sprintf(`Operation cannot be fulfilled on configmaps "counter": the object has been modified; please apply your changes to the latest version and try again`)
		p.expect("conflicts/stale-update-message", err.Error() == want, "message %q", err.Error())
	}
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
