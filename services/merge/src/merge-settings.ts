import { invalidArgument } from '@patchwork/errors';
import { ConditionalValue as WireConditional, ParameterValue } from '@patchwork/contracts';
import type { ConditionalValue, ParameterSetting } from '@patchwork/merge';

/** The library's parameter setting as its wire form (the CLI's --remote path). */
export function settingToWire(value: ParameterSetting): ParameterValue {
  if (typeof value === 'number') return { kind: { $case: 'number', value } };
  if (typeof value === 'string') return { kind: { $case: 'word', value } };
  if (value.length > 0 && typeof value[0] === 'object') {
    const entries = (value as ConditionalValue[]).map((entry): WireConditional => {
      const v = entry.value;
      const wire: WireConditional['value'] =
        typeof v === 'number' ? { $case: 'number', value: v } : typeof v === 'string' ? { $case: 'word', value: v } : { $case: 'gradient', value: { values: v } };
      return { filter: entry.filter ?? '', value: wire };
    });
    return { kind: { $case: 'filters', value: { entries } } };
  }
  return { kind: { $case: 'gradient', value: { values: value as number[] } } };
}

/** The wire form back to the library's setting; an empty value is a field error. */
export function settingFromWire(value: ParameterValue, field: string): ParameterSetting {
  const kind = value.kind;
  if (!kind) throw invalidArgument(field, 'needs a number, word, gradient or filters');
  switch (kind.$case) {
    case 'number':
    case 'word':
      return kind.value;
    case 'gradient':
      return [...kind.value.values];
    case 'filters':
      return kind.value.entries.map((entry, i): ConditionalValue => {
        const v = entry.value;
        if (!v) throw invalidArgument(`${field}.entries[${i}]`, 'needs a value');
        const out: ConditionalValue = { value: v.$case === 'gradient' ? [...v.value.values] : v.value };
        if (entry.filter) out.filter = entry.filter;
        return out;
      });
  }
}

export function settingsToWire(settings: Record<string, ParameterSetting> | undefined): Record<string, ParameterValue> {
  return Object.fromEntries(Object.entries(settings ?? {}).map(([k, v]) => [k, settingToWire(v)]));
}

export function settingsFromWire(settings: Record<string, ParameterValue>, field: string): Record<string, ParameterSetting> | undefined {
  const entries = Object.entries(settings);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([k, v]) => [k, settingFromWire(v, `${field}.${k}`)]));
}
