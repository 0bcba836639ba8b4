package main

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// leaseName is the lock every candidate of the leaderelection scenario takes.
const leaseName = "capstan-leader"

// candidate is one leader-election participant with its own clientset and context.
type candidate struct {
	identity string
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	leading  bool
	observed string
}

func (c *candidate) isLeading() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leading
}

func (c *candidate) observedLeader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.observed
}

// startCandidate runs leaderelection.RunOrDie with a LeaseLock on leaseName as `identity`, as a
// controller's main does, until its cancel is called.
func (p *probe) startCandidate(identity string, releaseOnCancel bool) *candidate {
	config := rest.CopyConfig(p.config)
	config.UserAgent = "leader-election-" + identity
	cs := kubernetes.NewForConfigOrDie(config)
	ctx, cancel := context.WithCancel(p.ctx)
	c := &candidate{identity: identity, cancel: cancel, done: make(chan struct{})}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: leaseName, Namespace: p.namespace},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	go func() {
		defer close(c.done)
		leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   3 * time.Second,
			RenewDeadline:   2 * time.Second,
			RetryPeriod:     250 * time.Millisecond,
			ReleaseOnCancel: releaseOnCancel,
			Name:            leaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					c.mu.Lock()
					c.leading = true
					c.mu.Unlock()
				},
				OnStoppedLeading: func() {
					c.mu.Lock()
					c.leading = false
					c.mu.Unlock()
				},
				OnNewLeader: func(leader string) {
					c.mu.Lock()
					c.observed = leader
					c.mu.Unlock()
				},
			},
		})
	}()
	return c
}

// stop cancels the candidate and waits until RunOrDie returned (after releasing, if asked to).
func (c *candidate) stop() {
	c.cancel()
	<-c.done
}

// leaderElection runs client-go leader election over a Lease with three candidates: a leads; b,
// started later, only observes a; a releases on cancel and b takes over (one transition); b
// stops without releasing and c takes over once the lease expired (a second transition). c stops
// without releasing, so the lease is left held by c for the caller to read.
func leaderElection(p *probe) {
	cs := kubernetes.NewForConfigOrDie(p.config)
	if !p.ensureNamespace(cs) {
		return
	}
	leases := cs.CoordinationV1().Leases(p.namespace)
	holder := func() (string, int32) {
		lease, err := leases.Get(p.ctx, leaseName, metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			return "", -1
		}
		transitions := int32(0)
		if lease.Spec.LeaseTransitions != nil {
			transitions = *lease.Spec.LeaseTransitions
		}
		return *lease.Spec.HolderIdentity, transitions
	}

	a := p.startCandidate("candidate-a", true)
	if !p.expect("leader/a-acquires", eventually(20*time.Second, a.isLeading), "candidate-a never started leading") {
		a.stop()
		return
	}
	who, transitions := holder()
	p.expect("lease/held-by-a", who == "candidate-a" && transitions == 0, "holder %q transitions %d", who, transitions)
	if lease, err := leases.Get(p.ctx, leaseName, metav1.GetOptions{}); p.noErr("lease/get", err) {
		spec := lease.Spec
		p.expect("lease/spec-as-written",
			spec.LeaseDurationSeconds != nil && *spec.LeaseDurationSeconds == 3 && spec.AcquireTime != nil && spec.RenewTime != nil,
			"spec %+v", spec)
		// Renewals are updates: the resourceVersion moves while a leads.
		rv := lease.ResourceVersion
		p.expect("lease/renewed", eventually(10*time.Second, func() bool {
			l, err := leases.Get(p.ctx, leaseName, metav1.GetOptions{})
			return err == nil && l.ResourceVersion != rv && a.isLeading()
		}), "no renewal after resourceVersion %s", rv)
	}

	b := p.startCandidate("candidate-b", false)
	p.expect("leader/b-observes-a", eventually(10*time.Second, func() bool { return b.observedLeader() == "candidate-a" }),
		"candidate-b observed %q", b.observedLeader())
	time.Sleep(time.Second)
	p.expect("leader/b-waits", !b.isLeading() && a.isLeading(), "b leading %v, a leading %v", b.isLeading(), a.isLeading())

	a.stop() // releases: holderIdentity "" for one second
	p.expect("leader/b-takes-over", eventually(20*time.Second, b.isLeading), "candidate-b never started leading")
	who, transitions = holder()
	p.expect("lease/held-by-b", who == "candidate-b" && transitions == 1, "holder %q transitions %d", who, transitions)

	c := p.startCandidate("candidate-c", false)
	b.stop() // does not release: c must wait for the lease to expire
	p.expect("leader/c-takes-over-after-expiry", eventually(30*time.Second, c.isLeading), "candidate-c never started leading")
	c.stop()
	who, transitions = holder()
	p.expect("lease/held-by-c", who == "candidate-c" && transitions == 2, "holder %q transitions %d", who, transitions)
	p.note(map[string]any{"lease": leaseName, "holder": who, "transitions": transitions})
}
