package main

import (
	"flag"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
)

var withCapstan = flag.Bool("capstan", true, "also probe the capstan.dev group (false against kube-apiserver)")

// podResources are the pod resources the dynamic and metadata scenarios go through, with the
// field that names the node in each.
func podResources() []struct {
	gvr       schema.GroupVersionResource
	nodeField string
} {
	all := []struct {
		gvr       schema.GroupVersionResource
		nodeField string
	}{{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "nodeName"}}
	if *withCapstan {
		all = append(all,
			struct {
				gvr       schema.GroupVersionResource
				nodeField string
			}{schema.GroupVersionResource{Group: "capstan.dev", Version: "v1", Resource: "pods"}, "nodeName"},
			struct {
				gvr       schema.GroupVersionResource
				nodeField string
			}{schema.GroupVersionResource{Group: "capstan.dev", Version: "v1beta1", Resource: "pods"}, "host"})
	}
	return all
}

func unstructuredPod(gvr schema.GroupVersionResource, name string, labels map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gvr.GroupVersion().String(),
		"kind":       "Pod",
		"metadata":   map[string]any{"name": name, "labels": labels},
		"spec":       map[string]any{"containers": []any{map[string]any{"name": "main", "image": "busybox"}}},
	}}
}

// dynamicClients drives pods in every served group-version through the dynamic client
// (unstructured JSON) and the metadata client (PartialObjectMetadata), as generic controllers
// (garbage collector, namespace controller) do.
func dynamicClients(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(cs) {
		return
	}
	dyn := dynamic.NewForConfigOrDie(p.config)
	meta := metadata.NewForConfigOrDie(p.config)
	ctx, ns := p.ctx, p.namespace
	for _, r := range podResources() {
		gv := r.gvr.GroupVersion().String()
		name := "dyn-" + r.gvr.Group + r.gvr.Version
		if r.gvr.Group == "" {
			name = "dyn-core"
		}
		check := func(what string) string { return gv + "/" + what }
		client := dyn.Resource(r.gvr).Namespace(ns)

		pod := unstructuredPod(r.gvr, name, map[string]any{"probe": name})
		_ = unstructured.SetNestedField(pod.Object, "node-a", "spec", r.nodeField)
		created, err := client.Create(ctx, pod, metav1.CreateOptions{})
		if !p.noErr(check("dynamic-create"), err) {
			continue
		}
		p.expect(check("dynamic-create-apiversion"), created.GetAPIVersion() == gv && created.GetKind() == "Pod", "got %s %s", created.GetAPIVersion(), created.GetKind())

		list, err := client.List(ctx, metav1.ListOptions{LabelSelector: "probe=" + name})
		if p.noErr(check("dynamic-list"), err) {
			p.expect(check("dynamic-list-items"), len(list.Items) == 1 && list.Items[0].GetAPIVersion() == gv, "items %d", len(list.Items))
			p.expect(check("dynamic-list-kind"), list.GetKind() == "PodList" && list.GetAPIVersion() == gv, "list %s %s", list.GetAPIVersion(), list.GetKind())
		}

		w, err := client.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion(), LabelSelector: "probe=" + name})
		if p.noErr(check("dynamic-watch"), err) {
			_, err = client.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":60}}`), metav1.PatchOptions{})
			p.noErr(check("dynamic-patch"), err)
			select {
			case e := <-w.ResultChan():
				u, _ := e.Object.(*unstructured.Unstructured)
				node := ""
				if u != nil {
					node, _, _ = unstructured.NestedString(u.Object, "spec", r.nodeField)
				}
				p.expect(check("dynamic-watch-event"), e.Type == watch.Modified && u != nil && u.GetAPIVersion() == gv && node == "node-a", "got %s %v", e.Type, e.Object)
			case <-time.After(10 * time.Second):
				p.fail(check("dynamic-watch-event"), "no event")
			}
			w.Stop()
		}

		got, err := client.Get(ctx, name, metav1.GetOptions{})
		if p.noErr(check("dynamic-get"), err) {
			_ = unstructured.SetNestedStringMap(got.Object, map[string]string{"probe": name, "more": "x"}, "metadata", "labels")
			_, err = client.Update(ctx, got, metav1.UpdateOptions{})
			p.noErr(check("dynamic-update"), err)
			_ = unstructured.SetNestedField(got.Object, "Running", "status", "phase")
			_, err = client.UpdateStatus(ctx, got, metav1.UpdateOptions{})
			p.expect(check("dynamic-update-status-conflict"), apierrors.IsConflict(err), "a stale resourceVersion: want a Conflict, got %v", err)
		}

		// The metadata client: get, list and watch as PartialObjectMetadata.
		mc := meta.Resource(r.gvr).Namespace(ns)
		pom, err := mc.Get(ctx, name, metav1.GetOptions{})
		if p.noErr(check("metadata-get"), err) {
			p.expect(check("metadata-get-object"), pom.Name == name && pom.Labels["more"] == "x" && pom.UID == created.GetUID(), "got %+v", pom.ObjectMeta)
		}
		pomList, err := mc.List(ctx, metav1.ListOptions{LabelSelector: "probe=" + name})
		if p.noErr(check("metadata-list"), err) {
			p.expect(check("metadata-list-items"), len(pomList.Items) == 1 && pomList.Items[0].Name == name && pomList.ResourceVersion != "", "items %d rv %q", len(pomList.Items), pomList.ResourceVersion)
			mw, err := mc.Watch(ctx, metav1.ListOptions{ResourceVersion: pomList.ResourceVersion, LabelSelector: "probe=" + name})
			if p.noErr(check("metadata-watch"), err) {
				_, err = mc.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"annotations":{"seen":"yes"}}}`), metav1.PatchOptions{})
				p.noErr(check("metadata-patch"), err)
				select {
				case e := <-mw.ResultChan():
					o, _ := e.Object.(*metav1.PartialObjectMetadata)
					p.expect(check("metadata-watch-event"), e.Type == watch.Modified && o != nil && o.Annotations["seen"] == "yes", "got %s %T", e.Type, e.Object)
				case <-time.After(10 * time.Second):
					p.fail(check("metadata-watch-event"), "no event")
				}
				mw.Stop()
			}
		}
		err = mc.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
		p.noErr(check("metadata-delete"), err)
		p.expect(check("metadata-deleted"), eventually(10*time.Second, func() bool {
			_, err := client.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}), "still there")
	}

	// Server-side apply through the dynamic client, in each version; then the metadata client's
	// DeleteCollection, as the namespace controller empties a namespace.
	for _, r := range podResources() {
		gv := r.gvr.GroupVersion().String()
		client := dyn.Resource(r.gvr).Namespace(ns)
		name := "applied-" + r.gvr.Version
		cfg := unstructuredPod(r.gvr, name, map[string]any{"sweep": "yes"})
		_ = unstructured.SetNestedField(cfg.Object, "node-b", "spec", r.nodeField)
		applied, err := client.Apply(ctx, name, cfg, metav1.ApplyOptions{FieldManager: "clientgo-" + r.gvr.Version})
		if p.noErr(gv+"/dynamic-apply", err) {
			node, _, _ := unstructured.NestedString(applied.Object, "spec", r.nodeField)
			managers := []string{}
			for _, m := range applied.GetManagedFields() {
				managers = append(managers, m.Manager+"@"+m.APIVersion)
			}
			p.expect(gv+"/dynamic-apply-result", node == "node-b" && applied.GetAPIVersion() == gv, "node %q apiVersion %s", node, applied.GetAPIVersion())
			p.expect(gv+"/dynamic-apply-managed", contains(managers, "clientgo-"+r.gvr.Version+"@"+gv), "managedFields %v", managers)
		}
		// Applying the same configuration again changes nothing.
		again, err := client.Apply(ctx, name, cfg, metav1.ApplyOptions{FieldManager: "clientgo-" + r.gvr.Version})
		if p.noErr(gv+"/dynamic-apply-again", err) && applied != nil {
			p.expect(gv+"/dynamic-apply-idempotent", again.GetResourceVersion() == applied.GetResourceVersion(), "resourceVersion %s then %s", applied.GetResourceVersion(), again.GetResourceVersion())
		}
	}
	for _, r := range podResources() {
		gv := r.gvr.GroupVersion().String()
		mc := meta.Resource(r.gvr).Namespace(ns)
		err := mc.DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}, metav1.ListOptions{LabelSelector: "sweep=yes"})
		if p.noErr(gv+"/metadata-delete-collection", err) {
			left, err := mc.List(ctx, metav1.ListOptions{LabelSelector: "sweep=yes"})
			if p.noErr(gv+"/metadata-list-after-delete-collection", err) {
				p.expect(gv+"/metadata-delete-collection-emptied", len(left.Items) == 0, "%d left", len(left.Items))
			}
		}
	}

	// Paging with limit and continue through the dynamic client.
	for i := 0; i < 5; i++ {
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "page-", Labels: map[string]string{"page": "yes"}}}, metav1.CreateOptions{})
		if !p.noErr("dynamic/paging-create", err) {
			return
		}
	}
	cmGVR := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	seen, cont, pages := 0, "", 0
	for {
		page, err := dyn.Resource(cmGVR).Namespace(ns).List(ctx, metav1.ListOptions{Limit: 2, Continue: cont, LabelSelector: "page=yes"})
		if !p.noErr("dynamic/paging-list", err) {
			break
		}
		pages++
		seen += len(page.Items)
		cont = page.GetContinue()
		if cont == "" || pages > 10 {
			break
		}
	}
	p.expect("dynamic/paging", seen == 5 && pages == 3, "%d items over %d pages", seen, pages)

	// A dynamic informer (watch-list) on every pod resource.
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
	informers := map[string]cache.SharedIndexInformer{}
	for _, r := range podResources() {
		informers[r.gvr.String()] = factory.ForResource(r.gvr).Informer()
	}
	for _, r := range podResources() {
		_, err := dyn.Resource(r.gvr).Namespace(ns).Create(ctx, unstructuredPod(r.gvr, "inf-"+r.gvr.Version+r.gvr.Group, nil), metav1.CreateOptions{})
		p.noErr(r.gvr.GroupVersion().String()+"/informer-create", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	for key, inf := range informers {
		synced := cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
		if p.expect(key+"/dynamic-informer-synced", synced, "never synced") {
			n, want := len(inf.GetStore().List()), 0
			for _, r := range podResources() {
				if r.gvr.Group == strings.Split(key+"/", "/")[0] || (r.gvr.Group == "" && strings.HasPrefix(key, "/")) {
					want++
				}
			}
			p.expect(key+"/dynamic-informer-items", n == want, "%d items, want %d", n, want)
			for _, o := range inf.GetStore().List() {
				u := o.(*unstructured.Unstructured)
				gv := schema.GroupVersion{Group: "", Version: "v1"}
				for _, r := range podResources() {
					if r.gvr.String() == key {
						gv = r.gvr.GroupVersion()
					}
				}
				p.expect(key+"/dynamic-informer-apiversion", u.GetAPIVersion() == gv.String(), "%s has apiVersion %s", u.GetName(), u.GetAPIVersion())
			}
		}
	}
}
