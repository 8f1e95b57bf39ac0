package simulator

// Placeholder until the clearance generator lands (owned by the clearance helper).
func (w *World) generateClearance() (*Emitter, []*DeclFacts) { return newEmitter(w.End), nil }
