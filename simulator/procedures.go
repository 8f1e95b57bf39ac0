package simulator

// Placeholder until the procedures generator lands.
func (w *World) generateProcedures(facts []*DeclFacts) *Emitter { return newEmitter(w.End) }
