import type { LinearSpec, Model } from '@patchwork/models';

/**
 * A model's modules as PEFT sees them: each linear with every spelling of its name (ViT has
 * two), and every module path that owns parameters. Names are canonical throughout; spellings
 * only matter for matching user patterns.
 */
export class ModuleCatalog {
  readonly linears: readonly LinearSpec[];
  private readonly spellings = new Map<string, string[]>();

  constructor(readonly model: Model) {
    this.linears = [...model.linears.values()];
  }

  /** Every spelling of a canonical module or key, canonical first. */
  namesOf(canonical: string): string[] {
    let names = this.spellings.get(canonical);
    if (names === undefined) {
      names = this.model.spellingsOf(canonical);
      this.spellings.set(canonical, names);
    }
    return names;
  }

  /**
   * The projection that produces the logits (lm_head, classifier, classifier.out_proj). Every
   * architecture declares it last, after the whole backbone; `all-linear` leaves it out.
   */
  get outputHead(): LinearSpec {
    return this.linears[this.linears.length - 1];
  }

  /** The layer index PEFT reads from a module name: the number after `<layers_pattern>.`, or after the first segment pair. */
  layerIndex(canonical: string, layersPattern: readonly string[] | null): number | undefined {
    for (const name of this.namesOf(canonical)) {
      const patterns = layersPattern === null || layersPattern.length === 0 ? [/^.*?\.[^.]*\.(\d+)\./] : layersPattern.map((p) => new RegExp(`^.*?\\.${p}\\.(\\d+)\\.`));
      for (const re of patterns) {
        const m = re.exec(name);
        if (m !== null) return Number(m[1]);
      }
    }
    return undefined;
  }

  /** Canonical module paths that own parameters: every dotted prefix of every parameter key. */
  parameterOwners(): Map<string, string[]> {
    const owners = new Map<string, string[]>();
    for (const key of this.model.weights.keys()) {
      const parts = key.split('.');
      for (let i = 1; i < parts.length; i++) {
        const owner = parts.slice(0, i).join('.');
        const list = owners.get(owner) ?? [];
        list.push(key);
        owners.set(owner, list);
      }
    }
    return owners;
  }
}
