package simulator

// Placeholder until the supervision generator lands.
func (w *World) generateSupervision(facts []*DeclFacts) *Emitter { return newEmitter(w.End) }

// Placeholder until the disposals generator lands.
func (w *World) generateDisposals(truth []TruthRow) *Emitter { return newEmitter(w.End) }
