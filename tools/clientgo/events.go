package main

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
)

// eventsRecorder drives client-go's events.k8s.io/v1 recorder (k8s.io/client-go/tools/events),
// what controllers built on the new events API use: the first event is created (protobuf body),
// the same event again becomes a series the broadcaster strategic-merge-patches, and both APIs
// read the one stored object.
func eventsRecorder(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	ctx, ns := p.ctx, p.namespace
	if !p.ensureNamespace(cs) {
		return
	}
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "recorded"},
		Spec:       podSpec(),
	}, metav1.CreateOptions{})
	if !p.noErr("events/pod", err) {
		return
	}
	// the scheme fills the reference's kind and apiVersion, which a typed Get leaves empty
	pod.Kind, pod.APIVersion = "Pod", "v1"

	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	if !p.noErr("events/start", broadcaster.StartRecordingToSinkWithContext(ctx)) {
		return
	}
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, "capstan.dev/clientgo")
	recorder.Eventf(pod, nil, corev1.EventTypeNormal, "Pulled", "Pull", "pulled %s", "busybox")

	var name string
	created := eventually(20*time.Second, func() bool {
		list, err := cs.EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=recorded"})
		if err != nil || len(list.Items) != 1 {
			return false
		}
		name = list.Items[0].Name
		return list.Items[0].Note == "pulled busybox" && list.Items[0].Series == nil
	})
	if !p.expect("events/created", created, "no event about the pod") {
		return
	}

	recorder.Eventf(pod, nil, corev1.EventTypeNormal, "Pulled", "Pull", "pulled %s", "busybox")
	var count int32
	series := eventually(20*time.Second, func() bool {
		ev, err := cs.EventsV1().Events(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || ev.Series == nil {
			return false
		}
		count = ev.Series.Count
		return true
	})
	p.expect("events/series", series && count == 2, "series count %d", count)

	old, err := cs.CoreV1().Events(ns).Get(ctx, name, metav1.GetOptions{})
	if p.noErr("events/core-get", err) {
		p.expect("events/core-shape",
			old.InvolvedObject.Name == "recorded" && old.Message == "pulled busybox" &&
				old.ReportingController == "capstan.dev/clientgo" && old.Series != nil,
			"core/v1 read %+v", old)
	}
	list, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=recorded"})
	if p.noErr("events/core-list", err) {
		p.expect("events/core-selected", len(list.Items) == 1, "%d events", len(list.Items))
	}
}
