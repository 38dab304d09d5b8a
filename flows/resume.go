package flows

import "time"

// StartWith begins a conversation whose answers are already known (a correction of a stored
// report): it goes straight to the first step still without an answer — for a complete
// report, the confirm summary, where "sửa N" changes one answer. Answers to steps the
// revision does not have are kept as they are.
func StartWith(f *Flow, rev int, vars map[string]string, answers map[string]Answer, now time.Time) (Session, []Reply) {
	if f == nil {
		return Start(f, rev, vars, now)
	}
	f = ready(f)
	s := Session{
		FlowID:    f.ID,
		Revision:  rev,
		Status:    StatusActive,
		Answers:   map[string]Answer{},
		Vars:      cloneVars(vars),
		StartedAt: now,
		UpdatedAt: now,
	}
	for k, a := range answers {
		s.Answers[k] = a
	}
	for _, st := range f.Steps {
		if _, ok := s.Answers[st.Name]; ok {
			s.Trail = append(s.Trail, st.Name)
		}
	}
	s.Step = nextStep(f, s)
	if s.Step == "" {
		s.Status = StatusDone
		return s, []Reply{{Text: f.say(orDefault(f.Done, msgDone))}}
	}
	return s, []Reply{question(f, s, now)}
}
