package simulator

// Placeholder until the tax follow-up generator lands.
func (w *World) generateTax(facts []*DeclFacts) *Emitter { return newEmitter(w.End) }
