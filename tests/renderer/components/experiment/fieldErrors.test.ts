/**
 * The experiment forms show the schemas' problems under the field they name: RecipeEditor (the recipe schema's
 * issue paths: lr.backbone, epochs, ...) and ExperimentDataForm (the experiment schema's data fields). Rendered
 * with Vue's server renderer, so what is asserted is the markup the user sees.
 */
import { describe, expect, it } from 'vitest'
import { createSSRApp, h, type Component } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { defaultRecipe } from '../../../../src/shared/recipes'
import type { DataForm } from '../../../../src/renderer/src/lib/experimentForm'

// a string path: the node typecheck knows no .vue modules; vitest compiles them with the Vue plugin
const load = async (file: string): Promise<Component> => ((await import(file)) as { default: Component }).default
const RECIPE_EDITOR = '../../../../src/renderer/src/components/experiment/RecipeEditor.vue'
const DATA_FORM = '../../../../src/renderer/src/components/experiment/ExperimentDataForm.vue'

/** The server-rendered markup of a component with these props. */
async function html(component: Component, props: Record<string, unknown>): Promise<string> {
  return renderToString(createSSRApp({ render: () => h(component, props) }))
}

/** The error lines shown in the field around `marker` (an attribute of its input): the markup from the field's
 *  opening `class="field` to the next field's. */
function fieldErrors(html: string, marker: string): string[] {
  const at = html.indexOf(marker)
  expect(at, marker).toBeGreaterThan(-1)
  const start = html.lastIndexOf('class="field', at)
  const end = html.indexOf('class="field', at)
  return [...html.slice(start, end === -1 ? undefined : end).matchAll(/class="err"[^>]*>([^<]*)</g)].map((m) => m[1].replace(/&#39;/g, "'"))
}

describe('recipe form', () => {
  it('shows each problem under its field and nothing for a valid recipe', async () => {
    const RecipeEditor = await load(RECIPE_EDITOR)
    const ok = await html(RecipeEditor, { modelValue: defaultRecipe('FT'), label: 'FT', uid: 'ft' })
    expect(ok).not.toContain('class="err"')

    const bad = { ...defaultRecipe('FT'), epochs: 2.5, lr: { backbone: -1, head: -1 }, batchSize: 0 }
    const out = await html(RecipeEditor, { modelValue: bad, label: 'FT', uid: 'ft' })
    expect(fieldErrors(out, 'data-testid="recipe-ft-epochs"')).toEqual(['must be an integer in [0, 10000] (got 2.5)'])
    expect(fieldErrors(out, 'data-testid="recipe-ft-batchSize"')).toEqual(['must be an integer in [1, 4096] (got 0)'])
    expect(fieldErrors(out, 'id="ft-lr-b"')).toEqual(['must be a number in [0, 100] (got -1)', 'must be a number in [0, 100] (got -1)'])
    expect(out).toMatch(/data-testid="recipe-ft-epochs"[^>]*aria-invalid="true"/)
  })

  it('shows a rule between fields under the field it names, with the way out', async () => {
    const RecipeEditor = await load(RECIPE_EDITOR)
    const out = await html(RecipeEditor, { modelValue: { ...defaultRecipe('DAFT'), headInit: 'random' }, label: 'DAFT', uid: 'd' })
    expect(fieldErrors(out, 'id="d-headInit"')).toEqual(["DAFT uses 'zero' (got 'random'); set method to 'custom' for this combination"])
    expect(out).toContain('Make it custom')
  })
})

describe('experiment data form', () => {
  const form: DataForm = { idDatasetId: null, oodIds: [], size: 32, normalize: 'imagenet', augment: '', valFraction: 0.1, trainLimit: null, evalLimit: null }

  it('shows the experiment schema’s message under a wrong field only', async () => {
    const DataFormView = await load(DATA_FORM)
    const ok = await html(DataFormView, { modelValue: form, datasets: [] })
    expect(ok).not.toContain('class="err"')
    const out = await html(DataFormView, { modelValue: { ...form, size: 4, trainLimit: 0.5 }, datasets: [] })
    expect(fieldErrors(out, 'data-testid="exp-size"')).toEqual(['an integer in [8, 1024] (got 4)'])
    expect(fieldErrors(out, 'data-testid="exp-train-limit"')).toEqual(['a positive integer (got 0.5)'])
    expect(fieldErrors(out, 'data-testid="exp-eval-limit"')).toEqual([])
  })

  it('offers the normalisation presets listed once in shared/datasets.ts', async () => {
    const DataFormView = await load(DATA_FORM)
    const out = await html(DataFormView, { modelValue: form, datasets: [] })
    const { NORMALIZE_PRESET_NAMES } = await import('../../../../src/shared/datasets')
    expect([...out.matchAll(/<option value="(imagenet|minus1to1|clip|unit|custom)"/g)].map((m) => m[1])).toEqual([...NORMALIZE_PRESET_NAMES])
  })
})
