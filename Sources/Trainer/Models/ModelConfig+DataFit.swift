import Datasets

// The one check between a model and a data set. Every path that feeds a data set to a network (training,
// resuming, evaluation, attacks, transfer sources, sweeps) calls it before its first step, so a label
// can never index past the logits and an image can never be read with another geometry: a 28x28 model
// given 14x56 images (the same 784 values) would otherwise score them scrambled, and a model with fewer
// classes than the data's labels would write past the loss's buffers.

extension ModelConfig {
    /// Checks that `data` fits a model of this configuration: the same height, width and channels (not
    /// only the same number of values), no more classes than the model outputs, and every label below
    /// the model's classes. `role` names the data in the message ("test split", "attack set").
    public func checkFits(_ data: ImageSet, role: String) throws(TrainerError) {
        let model = "\(input.height)x\(input.width)x\(input.channels)"
        let images = "\(data.height)x\(data.width)x\(data.channels)"
        guard (data.height, data.width, data.channels) == (input.height, input.width, input.channels) else {
            throw .dataMismatch("\(role): images are \(images) (\(data.imageSize) values), the model \(summary) takes \(model) (\(inputSize))")
        }
        guard data.classes <= classes else {
            throw .dataMismatch("\(role): the data set has \(data.classes) classes, the model \(summary) outputs \(classes)")
        }
        // ImageSet keeps its labels below its classes; checked again here, as it is what makes indexing safe.
        if let bad = data.labels.firstIndex(where: { Int($0) >= classes }) {
            throw .dataMismatch("\(role): label \(data.labels[bad]) of image \(bad) is not below the model's \(classes) classes")
        }
    }
}

extension Network {
    /// `config.checkFits(data, role:)`: throws unless `data` can be fed to this network.
    public func checkFits(_ data: ImageSet, role: String) throws(TrainerError) {
        try config.checkFits(data, role: role)
    }
}
